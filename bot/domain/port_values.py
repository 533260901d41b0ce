"""The values the ports carry: checkouts, builds, images as a registry sees them, destinations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.domain.ecr_features import CreationTemplate
from bot.domain.errors import UserError
from bot.domain.models import (
    BuildSecret,
    Failure,
    JobState,
    PushResult,
)
from bot.domain.tag_mutability import TagMutability
from bot.domain.text import code

if TYPE_CHECKING:  # annotations only: `ecrbot diagnose` never loads the report
    from bot.domain.models import Job
    from bot.domain.ports import JobStore
    from bot.domain.report import HealthReport, ReportFigures


@dataclass(frozen=True)
class Checkout:
    """A commit exported to a directory, ready to build."""

    full_sha: str
    subject: str
    path: Path

    def inside(self, relative: str, what: str) -> Path:
        """`relative` resolved in the checkout, symlinks followed; refused if it leaves it."""
        root = self.path.resolve()
        resolved = (root / relative).resolve()
        if not resolved.is_relative_to(root):
            raise UserError(
                f"The catalog's {what} {code(relative)} points outside the app's repository.",
                f"Set `{what}` to a path inside the repository (symlinks are followed).",
            )
        return resolved


@dataclass(frozen=True)
class BuildSpec:
    """What to build and how to label it."""

    context: Path
    dockerfile: str
    tag: str
    buildargs: dict[str, str]
    labels: dict[str, str]
    builder: Literal["buildkit", "classic"] = "buildkit"
    target: str | None = None
    secrets: tuple[BuildSecret, ...] = ()
    platforms: tuple[str, ...] = ()
    # Images whose inline cache metadata the build may reuse layers from (BuildKit only).
    cache_from: tuple[str, ...] = ()
    # Write BuildKit's cache metadata into the image, so a later build elsewhere can reuse it.
    inline_cache: bool = False


@dataclass(frozen=True)
class BuiltImage:
    """What a build produced: the image id, its Dockerfile steps and how many came from cache."""

    image_id: str
    steps: int = 0
    cached: int = 0


@dataclass(frozen=True)
class RepositoryInfo:
    """An ECR repository as ECR describes it; `uri` is ECR's own `repositoryUri`.

    `immutable` is the setting's base (IMMUTABLE, IMMUTABLE_WITH_EXCLUSION); `exclusions` are
    the WILDCARD filters that invert it for the tags they match. `template` is set when the
    repository does not exist yet and a CREATE_ON_PUSH template will create it on the push.
    """

    name: str
    uri: str
    immutable: bool
    exclusions: tuple[str, ...] = ()
    template: CreationTemplate | None = None

    @property
    def host(self) -> str:
        return self.uri.split("/", 1)[0]

    @property
    def mutability(self) -> TagMutability:
        setting = "IMMUTABLE" if self.immutable else "MUTABLE"
        return TagMutability(
            setting + ("_WITH_EXCLUSION" if self.exclusions else ""), self.exclusions
        )

    def tag_immutable(self, tag: str) -> bool:
        """Whether ECR refuses to move `tag` here once it exists."""
        return self.mutability.immutable(tag)


@dataclass(frozen=True)
class RegistryCredentials:
    """A registry login: ECR's username is always AWS."""

    username: str
    password: str = field(repr=False)
    endpoint: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class RemoteImage:
    """An image in the registry."""

    digest: str
    tags: tuple[str, ...]
    size_bytes: int
    revision: str | None = None
    # ACTIVE, ARCHIVED (can't be pulled; a push of the same image restores it) or ACTIVATING.
    status: str = "ACTIVE"


@dataclass(frozen=True)
class PushedImage:
    """What the engine's push stream reported."""

    digest: str
    size_bytes: int


@dataclass(frozen=True)
class UnsavedOutcome:
    """A job's outcome the store refused: kept in the journal until it can be written."""

    job_id: int
    state: JobState
    finished_at: datetime
    result: PushResult | None = None
    failure: Failure | None = None
    steps: dict[str, float] = field(default_factory=dict)
    owner: str | None = None  # the worker that ran it (scaled out), for the conditional write

    def finish_in(self, store: JobStore) -> Job | None:
        """Write it with the store's conditional finish (None: the job is not this runner's
        any more); the one place an outcome becomes a row, first try or journal replay."""
        return store.finish(
            self.job_id,
            self.state,
            result=self.result,
            failure=self.failure,
            full_sha=self.result.revision if self.result else None,
            steps=self.steps,
            owner=self.owner,
            finished_at=self.finished_at,
        )


@dataclass(frozen=True)
class Published:
    """A built report with what goes to Slack: the chart and the full detail files."""

    report: HealthReport
    chart_png: bytes
    detail_markdown: str
    detail_csv: str
    history: tuple[ReportFigures, ...] = ()  # the stored figures the charts' trend reads


@dataclass(frozen=True)
class Destination:
    """Where an answer goes: a channel (None: the catalog's), as a new message or into an
    existing thread; `reply_url` reaches the asker if the channel refuses the bot. `to_user`:
    the bot's DM with that person instead; `verdict_only`: one line, not the checklist."""

    channel: str | None
    thread_ts: str | None = None
    reply_url: str | None = None
    to_user: str | None = None
    verdict_only: bool = False

    @property
    def private(self) -> bool:
        """Only the asker reads it: their DM with ecrbot."""
        return self.to_user is not None
