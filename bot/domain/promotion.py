"""Promotion by digest: the image an environment gets is the very manifest the one before it
holds (no rebuild), copied whole and verified by digest on arrival."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from bot.domain.approvals import Approval
from bot.domain.cancel import CancelToken
from bot.domain.commit_diff import CommitDiff
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.errors import UsageError, UserError
from bot.domain.models import AppSpec, Job, JobState
from bot.domain.text import code

if TYPE_CHECKING:  # scan_gate imports ImageRef from here
    from bot.domain.scan_gate import Verdict

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A tag as the OCI distribution spec allows it: a version (1.4.0) or a SHA tag.
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class ImageRef:
    """An image in a registry, by tag or by digest (`reference` is one or the other)."""

    registry: NamedRegistry
    repository: str
    reference: str

    def __str__(self) -> str:
        sep = "@" if DIGEST.fullmatch(self.reference) else ":"
        return f"{self.registry.host}/{self.repository}{sep}{self.reference}"


class DigestReader(Protocol):
    """Reads which manifest digest a tag (or digest) names in a registry."""

    def digest(self, image: ImageRef) -> str | None:
        """The manifest digest `image` names, or None when the registry has no such image;
        RepositoryMissing when the registry has no such repository."""
        ...


class ImageCopier(Protocol):
    """Reads digests and copies images between registries, blobs and indexes included."""

    def digest(self, image: ImageRef) -> str | None:
        """The manifest digest `image` names, or None when the registry has no such image."""
        ...

    def copy(self, source: ImageRef, target: ImageRef, cancel: CancelToken | None = None) -> None:
        """Copy `source` (by digest) to `target` (a tag), keeping the digest; raises on failure
        (and stops, raising, once `cancel` is cancelled)."""
        ...

    def tag(self, image: ImageRef, digest: str) -> None:
        """Point `image`'s tag at the manifest `digest`, which `image`'s repository already
        holds (no blob moves, the bytes and so the digest unchanged); raises on failure."""
        ...


class CopyFailed(Exception):
    """The copier (or a registry login) refused; the message is its own closing words, never
    the credentials."""


class RepositoryMissing(CopyFailed):
    """The registry has no repository of that name (ECR's RepositoryNotFoundException)."""


class DigestMismatch(Exception):
    """The target answered with another digest than the source's after the copy."""


@dataclass(frozen=True)
class PromotionPlan:
    """What a promotion will do: which digest, from where, to where, under which tags."""

    app: str
    source: ImageRef  # by digest
    target: Environment
    tags: tuple[str, ...]  # the ref asked for first

    @property
    def digest(self) -> str:
        return self.source.reference

    def target_ref(self, tag: str) -> ImageRef:
        return ImageRef(self.target.registry, self.target.repository, tag)


@dataclass(frozen=True)
class Promoted:
    """A promotion's outcome: the target holds `plan.digest` under every tag."""

    plan: PromotionPlan
    copied: bool  # False: the target already held the digest ("already there")
    uris: tuple[str, ...]
    seconds: float


class NeedsApproval(UserError):
    """The environment names approvers or a scan gate this entry point can't apply."""


def enforceable(target: Environment, approvals: bool = False, gates: bool = False) -> None:
    """Refuse an environment whose rules this entry point can't apply: copying without the
    approval or the gate the catalog asks for would be promoting around them (fail closed).
    Approvals exist in Slack (`approvals=True`); the terminal has no second person. The scan
    gate is applied where a scan reader is wired (`gates=True`)."""
    rules = (("approvers", target.approvers and not approvals), ("gate", target.gate and not gates))
    asks = [word for word, set_ in rules if set_]
    if asks:
        raise NeedsApproval(
            f"{code(target.name)} asks for {' and '.join(f'`{a}`' for a in asks)}, which ecrbot "
            "can't apply here, so it does not promote there.",
            "Promote from Slack (`/ecr promote`), where approvals are asked, or by your "
            "release process.",
        )


def source_of(app: AppSpec, environment: str, home: NamedRegistry) -> tuple[Environment, ImageRef]:
    """The environment asked for, and where its image comes from: the previous environment's
    registry, or the home registry (where pushes land) for the first. Ref left blank."""
    names = [env.name for env in app.environments]
    if environment not in names:
        known = ", ".join(code(name) for name in names) or "none in the catalog"
        raise UsageError(
            f"{code(app.name)} has no environment {code(environment)}.",
            f"Its environments: {known}.",
        )
    index = names.index(environment)
    target = app.environments[index]
    if index == 0:
        return target, ImageRef(home, app.repository, "")
    before = app.environments[index - 1]
    return target, ImageRef(before.registry, before.repository, "")


def plan(
    app: AppSpec,
    ref: str,
    environment: str,
    home: NamedRegistry,
    reader: DigestReader,
    approvals: bool = False,
    gates: bool = False,
) -> PromotionPlan:
    """Resolve `ref` (a version or SHA tag) to a digest in the source registry."""
    if not TAG.fullmatch(ref):
        raise UsageError(f"{code(ref)} is not a version or SHA tag.", "e.g. `1.4.0` or a SHA.")
    target, source = source_of(app, environment, home)
    enforceable(target, approvals, gates)
    where = "the home registry" if source.registry.name == HOME else source.registry.name
    try:
        digest = reader.digest(ImageRef(source.registry, source.repository, ref))
    except RepositoryMissing:
        place = (
            "The home registry" if where != source.registry.name else f"The registry {code(where)}"
        )
        raise UsageError(
            f"{place} ({source.registry.host}) has no repository {code(source.repository)}.",
            "Check the app's `repository:`, or push it first.",
        ) from None
    if digest is None:
        raise UsageError(
            f"{code(f'{source.repository}:{ref}')} is not in {where} ({source.registry.host}).",
            "Promote what the previous environment runs, or push it first.",
        )
    return PromotionPlan(
        app.name, ImageRef(source.registry, source.repository, digest), target, (ref,)
    )


@dataclass(frozen=True)
class PromotionRequest:
    """`/ecr promote <app> <ref> <env>` as asked in Slack: by whom, and where to answer."""

    app: str
    ref: str
    environment: str
    user: str
    channel: str | None
    reply_url: str | None = None
    thread_ts: str | None = None  # an existing thread (after an approval), else a new one
    id: str = ""  # its record's (PromotionRun), given when it is submitted; its buttons carry it


class PromotionStep(Enum):
    RESOLVED = "resolved"
    SCANNING = "scanning"  # waiting for the scan of the digest to finish (the gate's)
    COPYING = "copying"
    VERIFIED = "verified"


class PromotionNotices(Protocol):
    """A promotion's thread: a parent message, a reply per step, and the outcome."""

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None: ...

    def step(
        self, request: PromotionRequest, step: PromotionStep, planned: PromotionPlan
    ) -> None: ...

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        """The scan gate's verdict: passed (the counts) or failed (the findings that fail it)."""
        ...

    def finished(self, request: PromotionRequest, done: Promoted) -> None: ...

    def failed(self, request: PromotionRequest, reason: str) -> None:
        """`reason` is plain text: the render layer escapes it."""
        ...

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        """Ask the environment's approvers in the thread (Approve / Reject), with the commits
        since what the environment runs now."""
        ...

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        """Cancelled by `by`: said in the thread, whose parent then offers Retry."""
        ...


def pushed_tags(jobs: Iterable[Job], app: str, digest: str) -> tuple[str, ...]:
    """The tags an ecrbot push of `app` put on `digest` (its SHA and version, never `latest`),
    from ecrbot's own record of its jobs: the other tag a promotion carries along. Nothing when
    ecrbot didn't push that digest (a CI push): then only the asked tag is promoted."""
    for job in jobs:
        result = job.result if job.app == app and job.state is JobState.SUCCEEDED else None
        if result is not None and result.digest == digest:
            tags = (uri.rsplit(":", 1)[-1] for uri in result.image_uris)
            return tuple(t for t in tags if t != "latest" and TAG.fullmatch(t))
    return ()


def built_from(jobs: Iterable[Job], app: str, digest: str) -> str | None:
    """The commit an ecrbot push of `app` built `digest` from (its job record), if any."""
    for job in jobs:
        result = job.result if job.app == app and job.state is JobState.SUCCEEDED else None
        if result is not None and result.digest == digest:
            return job.full_sha or job.sha
    return None


def promotion_ref(job: Job) -> str:
    """What a finished push is promoted by (its Promote button): the version it pushed, else
    its SHA tag, as ecrbot recorded them."""
    if job.state is not JobState.SUCCEEDED or job.result is None:
        raise UserError(
            f"Job {job.id} has no pushed image to promote ({job.state.value}).",
            "Promote a push that succeeded, or `/ecr promote <app> <version|sha> <env>`.",
        )
    tags = [uri.rsplit(":", 1)[-1] for uri in job.result.image_uris]
    return job.version if job.version in tags else tags[0]
