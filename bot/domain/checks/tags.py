"""Tags: immutability (SHAs over latest), decided per tag when the repository has exclusion
filters (`bot/domain/tag_mutability.py`), and what a push of one SHA would do."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import AppFacts, CheckResult, Image, Repository, Status
from bot.domain.checks.registry import app_check


@app_check(
    "tags.immutability",
    "the repository's tags are immutable (SHAs over latest), per tag when it has exclusion filters",
)
def tag_immutability(facts: AppFacts) -> list[CheckResult]:
    if not facts.repository.ok or facts.repository.value is None:
        return []  # registry.repository already says why
    repo = facts.repository.value
    return [_immutability(facts, repo)]


@app_check(
    "tags.image",
    "with --sha: whether that image exists (archived included) and what a push would do",
)
def tag_image(facts: AppFacts) -> list[CheckResult]:
    if not facts.sha or not facts.repository.ok or facts.repository.value is None:
        return []  # no SHA asked about, or registry.repository says why
    return [_image(facts, facts.sha)]


def _image(facts: AppFacts, sha: str) -> CheckResult:
    where = f"{facts.repository_name}:{sha}"
    if not facts.image.ok:
        return could_not("tags.image", facts.image, where)
    image = facts.image.value
    if image is None:
        return CheckResult(
            "tags.image",
            Status.PASS,
            f"No image is tagged {sha}: /ecr push would build and push it.",
            resource=where,
        )
    if image.revision and image.revision.startswith(sha):
        return CheckResult(
            "tags.image",
            Status.PASS,
            f"{where} is {image.digest[:19]}, labelled as built from that commit: a push "
            "reuses it (adding missing tags) only if ecrbot's own job pushed it, else it builds.",
            resource=where,
        )
    repo = facts.repository.value
    if image.status != "ACTIVE":
        return _archived(facts, image, where)
    immutable = bool(repo and repo.mutability.immutable(sha))
    return CheckResult(
        "tags.image",
        Status.FAIL if immutable else Status.WARN,
        f"{where} is {image.digest[:19]}, built from {image.revision or 'an unknown commit'}: "
        + ("a push would be refused (immutable)." if immutable else "a push would move the tag."),
        "Push a new commit or version; never reuse a tag for another image.",
        where,
    )


def _immutability(facts: AppFacts, repo: Repository) -> CheckResult:
    tags = repo.mutability
    sha_tags = tags.sha_tags(40 if facts.sha and len(facts.sha) == 40 else 7)
    lock = (
        f"aws ecr put-image-tag-mutability --repository-name {repo.name} "
        f"--image-tag-mutability IMMUTABLE --region {facts.region}"
    )
    if tags.setting == "IMMUTABLE":
        text = f"{repo.name} has immutable tags: a SHA tag names one image forever."
        return CheckResult("tags.immutability", Status.PASS, text, resource=repo.arn)
    if tags.setting == "MUTABLE":
        text = f"{repo.name} has mutable tags: a tag can be moved to another image."
        return CheckResult("tags.immutability", Status.WARN, text, lock, repo.arn)
    movable = "latest is " + ("immutable" if tags.immutable("latest") else "mutable")
    shas = {"all": "SHA tags are immutable", "no": "SHA tags are mutable"}.get(
        sha_tags, "some SHA tags are mutable (a filter matches hex strings)"
    )
    text = f"{repo.name} is {tags.describe()}: {shas}; {movable}."
    if sha_tags == "all":
        return CheckResult("tags.immutability", Status.PASS, text, resource=repo.arn)
    return CheckResult("tags.immutability", Status.WARN, text, lock, repo.arn)


def _archived(facts: AppFacts, image: Image, where: str) -> CheckResult:
    repo = facts.repository.value
    sha = facts.sha or ""
    restore = (
        f"aws ecr update-image-storage-class --repository-name {facts.repository_name} "
        f"--image-id imageTag={sha} --target-storage-class STANDARD --region {facts.region}"
    )
    if repo is not None and repo.mutability.immutable(sha):
        return CheckResult(
            "tags.image",
            Status.FAIL,
            f"{where} is {image.digest[:19]}, which ECR has {image.status.lower()}: it can't be "
            "pulled, and a push of a new build under that immutable tag is refused unless it "
            "is byte-identical (pushing the same image again restores it).",
            f"Restore it, then push (it is reused, no build):\n{restore}",
            where,
        )
    return CheckResult(
        "tags.image",
        Status.WARN,
        f"{where} is {image.digest[:19]}, which ECR has {image.status.lower()} (it can't be "
        "pulled): a push would build again and move the tag.",
        f"To keep that image instead, restore it:\n{restore}",
        where,
    )
