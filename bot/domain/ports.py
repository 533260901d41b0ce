"""The domain's view of the world: Protocols the adapters implement and tests fake."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from bot.domain.cancel import CancelToken
from bot.domain.ecr_features import CreationTemplate, SigningStatus
from bot.domain.errors import UserError
from bot.domain.models import (
    AppSpec,
    BuildSecret,
    Failure,
    Job,
    JobState,
    LayerProgress,
    ProgressEvent,
    PushResult,
)

# Re-exported: the reading ports live in ports_read.py.
from bot.domain.ports_read import AccountFacts as AccountFacts
from bot.domain.ports_read import RegistryScan as RegistryScan
from bot.domain.ports_read import ReportHistory as ReportHistory
from bot.domain.ports_read import SubjectTemplates as SubjectTemplates
from bot.domain.tag_mutability import TagMutability
from bot.domain.text import code

if TYPE_CHECKING:  # annotations only: `ecrbot diagnose` never loads the report or triage
    from bot.domain.audit import AuditEntry, AuditQuery
    from bot.domain.audit_chain import AuditIntegrity
    from bot.domain.read_limits import ThreadContext
    from bot.domain.report import HealthReport, ReportFigures
    from bot.domain.triage import TriageAnswer


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


class Source(Protocol):
    """Where an app's code comes from (git, or the current directory for the CLI)."""

    def checkout(self, app: AppSpec, sha: str) -> AbstractContextManager[Checkout]: ...


class WorkflowSource(Protocol):
    """An app's GitHub Actions workflow files on a branch (for diagnose)."""

    def workflow_files(self, app: AppSpec, branch: str) -> Mapping[str, bytes | str | None]: ...


class Engine(Protocol):
    """The Docker engine that builds and pushes."""

    def build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage: ...

    def fetch_cache(
        self, reference: str, credentials: RegistryCredentials, cancel: CancelToken
    ) -> bool:
        """Make `reference` (an image in the registry) available as a build cache source;
        True when it had to be downloaded, False when the engine already had it."""
        ...

    def tag(self, image_id: str, repository_uri: str, tag: str) -> None: ...

    def push(
        self,
        repository_uri: str,
        tag: str,
        credentials: RegistryCredentials,
        on_layers: Callable[[tuple[LayerProgress, ...]], None],
        cancel: CancelToken,
    ) -> PushedImage: ...

    def ping(self) -> None: ...


class Registry(Protocol):
    """ECR: repositories, login tokens and images."""

    def repository(self, name: str) -> RepositoryInfo: ...

    def credentials(self, fresh: bool = False) -> RegistryCredentials: ...

    def find_image(self, repository: RepositoryInfo, tag: str) -> RemoteImage | None: ...

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        """The image `digest` names in the repository (revision not read), or None."""
        ...

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        """Point `new_tag` at the manifest `source` (a tag or a digest) names."""
        ...

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        """Managed signing's status per profile, waiting briefly while it is in progress;
        None when the registry has no managed signing; raises StepError when unreadable."""
        ...


class BuildRecords(Protocol):
    """What ecrbot itself built and pushed: the only provenance pre-flight and the build cache
    trust. A registry's tags and labels are claims anyone with push access can write."""

    def pushed_digest(self, app: str, full_sha: str) -> str | None:
        """The digest of the newest succeeded job of `app` that built and pushed `full_sha`."""
        ...

    def last_pushed_digest(self, app: str) -> str | None:
        """The digest of the newest succeeded job of `app` that built and pushed an image."""
        ...


class JobStore(BuildRecords, Protocol):
    """Persistent jobs (and, from them, what ecrbot itself pushed)."""

    def create(self, request_key: str, job_fields: dict[str, object]) -> tuple[Job, bool]: ...

    def accept(
        self, request_key: str, job_fields: dict[str, object]
    ) -> tuple[Job, bool, Future[Job]]: ...

    def get(self, job_id: int) -> Job | None: ...

    def by_key(self, request_key: str) -> Job | None: ...

    def queued_counts(self) -> dict[str, int]: ...

    def recent(self, limit: int = 10) -> list[Job]: ...

    def in_states(self, *states: JobState) -> list[Job]: ...

    def transition(self, job_id: int, to: JobState, *, only_from: tuple[JobState, ...]) -> bool: ...

    def save_thread(self, job_id: int, thread_ts: str) -> None: ...

    def finish(
        self,
        job_id: int,
        state: JobState,
        *,
        result: PushResult | None = None,
        failure: Failure | None = None,
        full_sha: str | None = None,
        steps: dict[str, float] | None = None,
        owner: str | None = None,
        finished_at: datetime | None = None,
    ) -> Job | None:
        """End a job still running (on `owner`, if given); None if it is not any more."""
        ...

    def since(self, moment: datetime) -> list[Job]: ...

    def counts(self) -> dict[tuple[str, str], int]: ...

    def ping(self) -> None: ...


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


class OutcomeJournal(Protocol):
    """Outcomes the store refused, kept durably and written once the store takes them."""

    def keep(self, outcome: UnsavedOutcome) -> None:
        """Append the outcome durably (on disk when this returns); raises if it can't."""
        ...

    def replay(self) -> int:
        """Write what is kept, each at most once (a conditional update); returns how many
        are still waiting for the store."""
        ...

    def pending(self) -> list[int]:
        """The ids of the jobs whose outcomes wait in the journal."""
        ...

    def start(self) -> None:
        """Replay in the background until the journal is empty, again after each keep."""
        ...

    def stop(self) -> None: ...


class AuditLog(Protocol):
    """Who did what, where, when and how it ended; append-only."""

    def record(self, entry: AuditEntry) -> None:
        """Append an entry behind the caller's back: never raises, never waits for the database."""
        ...

    def entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The entries that match, newest first (those recorded and not yet written included
        only after `flush`)."""
        ...

    def count(self, query: AuditQuery) -> int:
        """How many entries match, ignoring `query.limit`."""
        ...

    def flush(self, timeout: float = 2.0) -> None:
        """Wait, at most `timeout` seconds, until the entries recorded so far are written."""
        ...

    def integrity(self) -> AuditIntegrity:
        """Whether the log is as ecrbot wrote it: its triggers, and its hash chain end to end."""
        ...


class Directory(Protocol):
    """Who belongs to which user group (Slack user groups, or a static map)."""

    def members(self, group_id: str) -> frozenset[str]: ...


class Reporter(Protocol):
    """Receives a job's life events (Slack thread, terminal); must never raise into the build."""

    def queued(self, job: Job) -> None: ...

    def waiting(self, job: Job, behind: int) -> None: ...

    def started(self, job: Job) -> None: ...

    def progress(self, job: Job, event: ProgressEvent) -> None: ...

    def finished(self, job: Job) -> None: ...

    def not_recorded(self, job: Job) -> None:
        """The job was acknowledged but could not be stored: it will not run; say so."""
        ...


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


# (the report, channel, response_url to tell the asker if the channel refuses us)
Publish = Callable[[Published, str | None, str | None], None]


class JobRunner(Protocol):
    """What a job queue calls back into: the job service."""

    def run(self, job_id: int, cancel: CancelToken) -> None:
        """Start a queued job (queued → running) and run it to its end."""
        ...

    def run_claimed(self, job_id: int, cancel: CancelToken, owner: str) -> None:
        """Run a job the queue already marked running on `owner` (claimed from a shared
        database); its outcome is written only while `owner` still holds it."""
        ...

    def settle_unsaved(self) -> None:
        """Write the outcomes the store refused earlier (before orphans are ended)."""
        ...

    def unsaved(self) -> list[int]:
        """Jobs whose outcome waits in the journal: still running in the store."""
        ...

    def tell_waiting(self, job_id: int, behind: int) -> None: ...

    def tell_finished(self, job_id: int) -> None:
        """Tell a job's thread how it ended (when the queue ended it, e.g. a dead worker)."""
        ...


class JobQueue(Protocol):
    """Where queued jobs wait and run: the embedded pool, or Celery workers."""

    # True when jobs run in this process, so a restart finds its own running jobs orphaned.
    runs_here: bool

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def drain(self, grace_s: float) -> list[int]: ...

    def enqueue(self, job_id: int, app: str) -> int | None:
        """Queue a job; returns the job of the same app it waits behind, if any."""
        ...

    def cancel(self, job_id: int) -> str | None:
        """'dequeued', 'signalled' (running: it will stop) or None (not known here)."""
        ...

    def waiting(self) -> dict[str, int]: ...

    @property
    def alive(self) -> bool: ...

    @property
    def queue_depth(self) -> int: ...

    @property
    def heartbeat_at(self) -> float | None:
        """When this process's worker last showed it runs jobs (Unix time); None if it doesn't."""
        ...


class EventLedger(Protocol):
    """What Slack already delivered and which threads the bot already answered, in the database
    every replica shares, so a retried event or a second replica never answers twice."""

    def first_time(self, event_id: str) -> bool:
        """Record an Events API event id; False when it was recorded before (a retry)."""
        ...

    def claim_thread(self, channel: str, thread_ts: str) -> bool:
        """Claim the one triage answer of a thread; False when it was answered already."""
        ...


class TriageReplies(Protocol):
    """Where triage reads a thread and answers in it (Slack, or the console's stand-in)."""

    def thread_text(self, channel: str, thread_ts: str) -> ThreadContext:
        """The thread's messages' text, bounded (to see which app it is about), or why it
        could not be read now; never waits out a rate limit."""
        ...

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        """Post the answer in the thread (queued: never raises, never blocks on Slack)."""
        ...
