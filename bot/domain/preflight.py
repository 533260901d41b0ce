"""A push's pre-flight: what each target tag names in ECR now, and what the push may do to it.

Provenance is ecrbot's own record, never the registry's word: only an image ecrbot built from
this commit (its job record) and that ECR still holds is reused. A tag or a revision label in the
registry is a claim anyone with push access can write, so it never stands in for a build.

Mutability is decided per tag (`RepositoryInfo.tag_immutable`: ECR's exclusion filters); an
archived image is seen (ECR still describes it) but can't be pulled or retagged
(archive-image.html, read 2026-12-06); a repository a CREATE_ON_PUSH template will create has
nothing to look up yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.errors import PipelineError
from bot.domain.models import Failure, ProgressEvent, Step
from bot.domain.ports import Registry, RemoteImage, RepositoryInfo
from bot.domain.text import code, plain

Emit = Callable[[ProgressEvent], None]


@dataclass
class Plan:
    """What pre-flight found: an image ecrbot already built from this commit, tags to (re)point."""

    reusable: RemoteImage | None = None
    to_tag: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str, emit: Emit) -> None:
        self.warnings.append(text)
        emit(ProgressEvent(Step.PREFLIGHT, "warning", text))


def plan_push(
    registry: Registry,
    repository: RepositoryInfo,
    tags: tuple[str, ...],
    full_sha: str,
    emit: Emit,
    recorded: str | None = None,
) -> Plan:
    """Look at each target tag; raises PipelineError for a push ECR would refuse. `recorded` is
    the digest ecrbot's own jobs pushed for this commit, if any."""
    plan = Plan()
    if repository.template is not None:
        template = repository.template
        emit(
            ProgressEvent(
                Step.PREFLIGHT,
                "finished",
                f"{code(repository.name)} does not exist yet: this push creates it from the "
                f"creation template {code(template.prefix)} ({plain(template.settings())})",
            )
        )
        plan.to_tag.extend(tags)
        return plan
    if recorded is not None:
        image = registry.image_by_digest(repository, recorded)
        plan.reusable = image if image is not None and image.status == "ACTIVE" else None
    # A tag that already names the reusable image is left as it is: its labels need no read.
    known = recorded if plan.reusable is not None else None
    for tag in tags:
        existing = registry.find_image(repository, tag, known)
        if existing is not None and plan.reusable is not None and existing.digest == recorded:
            continue
        plan.to_tag.append(tag)
        if existing is None:
            continue
        if existing.status != "ACTIVE":
            _archived(repository, tag, existing, plan, emit)
            continue
        if repository.tag_immutable(tag):
            raise PipelineError(_refusal(repository, tag, existing, full_sha))
        why = ""
        if repository.exclusions:
            why = f"; ECR lets it move: {repository.mutability.why(tag)}"
        plan.warn(
            f"{code(tag)} moves from {plain(existing.digest[:19])} "
            f"(labelled {plain((existing.revision or 'no commit')[:12])}) to this build{why}",
            emit,
        )
    return plan


def _refusal(repository: RepositoryInfo, tag: str, existing: RemoteImage, full_sha: str) -> Failure:
    where = "an immutable repository"
    if repository.exclusions:
        where = f"this repository ({repository.mutability.why(tag)})"
    return Failure(
        Step.PREFLIGHT,
        f"{code(tag)} already names another image in {where}",
        f"{code(f'{repository.name}:{tag}')} is {plain(existing.digest[:19])} "
        f"(labelled {plain((existing.revision or 'no commit')[:12])}), not an image ecrbot "
        f"built from {full_sha[:12]}.",
        "Tags in an immutable repository name one image forever: push with a new version.",
    )


def _archived(
    repository: RepositoryInfo, tag: str, existing: RemoteImage, plan: Plan, emit: Emit
) -> None:
    """A tag on an archived image: it can't be pulled or retagged; pushing restores it."""
    region = repository.host.split(".")[3] if repository.host.count(".") >= 4 else "REGION"
    restore = (
        f"aws ecr update-image-storage-class --repository-name {repository.name} "
        f"--image-id imageTag={tag} --target-storage-class STANDARD --region {region}"
    )
    state = existing.status.lower()
    if repository.tag_immutable(tag):
        raise PipelineError(
            Failure(
                Step.PREFLIGHT,
                f"{code(tag)} names an {plain(state)} image in this repository",
                f"{code(f'{repository.name}:{tag}')} is {plain(existing.digest[:19])}, which "
                f"ECR has {plain(state)}: it can't be pulled (404) or given more tags, and the "
                "tag is immutable, so a new build could only land if it is byte-identical "
                "(pushing the same image again restores it).",
                f"Restore it, then push again (the image will be reused, no build):\n{restore}",
            )
        )
    plan.warn(
        f"{code(tag)} names {plain(existing.digest[:19])}, an {plain(state)} image (it can't "
        f"be pulled); this build moves the tag. To keep that image instead: {restore}",
        emit,
    )
