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
from bot.domain.checks.model import (
    Boundary,
    Fact,
    Image,
    KeyUser,
    OidcProvider,
    Organization,
    Repository,
    Role,
    Simulation,
)
from bot.domain.errors import UserError
from bot.domain.iam.evaluation import OrgLevel
from bot.domain.iam.policy import Policy, Unreadable
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
from bot.domain.text import code
from bot.domain.workflow.subjects import SubjectTemplate

if TYPE_CHECKING:  # annotations only: `ecrbot diagnose` never loads the report or triage
    from bot.domain.audit import AuditEntry, AuditQuery
    from bot.domain.report import AccessFinding, HealthReport, ReportFigures
    from bot.domain.report import RepositoryInfo as ScannedRepository
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
    """An ECR repository as ECR describes it; `uri` is ECR's own `repositoryUri`."""

    name: str
    uri: str
    immutable: bool

    @property
    def host(self) -> str:
        return self.uri.split("/", 1)[0]


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

    def newest_image(self, repository: RepositoryInfo) -> RemoteImage | None:
        """The repository's most recently pushed tagged image (revision not read), or None."""
        ...

    def add_tag(self, repository: RepositoryInfo, existing_tag: str, new_tag: str) -> None: ...


class JobStore(Protocol):
    """Persistent jobs."""

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
    ) -> Job: ...

    def since(self, moment: datetime) -> list[Job]: ...

    def counts(self) -> dict[tuple[str, str], int]: ...

    def ping(self) -> None: ...


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


class SubjectTemplates(Protocol):
    """Where GitHub says which claims make up a repository's OIDC `sub` (for diagnose)."""

    def subject_template(self, repo: str) -> SubjectTemplate:
        """The template for "owner/repo"; raises TemplateUnavailable saying why not."""
        ...


class AccountFacts(Protocol):
    """Diagnose's view of one AWS account: each fact fetched once, concurrently."""

    calls: dict[str, int]

    def caller(self) -> Future[Fact[str]]: ...

    def repository(self, name: str) -> Future[Fact[Repository | None]]: ...

    def elsewhere(self, name: str, regions: list[str]) -> Future[Fact[tuple[str, ...]]]: ...

    def provider(self) -> Future[Fact[OidcProvider | None]]: ...

    def role(self, arn: str) -> Future[Fact[Role | None]]: ...

    def key_users(self) -> Future[Fact[tuple[KeyUser, ...]]]: ...

    def user_boundary(self, name: str) -> Future[Fact[Boundary | None]]: ...

    def repository_policy(self, name: str) -> Future[Fact[Policy | Unreadable | None]]: ...

    def organization(self) -> Future[Fact[Organization | None]]: ...

    def scps(self, account: str) -> Future[Fact[tuple[OrgLevel, ...] | None]]: ...

    def simulate(
        self, role_arn: str, actions: tuple[str, ...], resource: str
    ) -> Future[Fact[Simulation | None]]: ...

    def image(self, repository: str, tag: str) -> Future[Fact[Image | None]]: ...

    def token(self) -> Future[Fact[str]]: ...

    def login(self) -> Future[Fact[str]]: ...


class RegistryScan(Protocol):
    """The health report's read of every repository; `gaps` collects what could not be read."""

    calls: int

    def repositories(self, gaps: list[str]) -> tuple[tuple[ScannedRepository, ...], bool]: ...

    def access(self, gaps: list[str]) -> tuple[AccessFinding, ...]: ...


class ReportHistory(Protocol):
    """The figures of past scheduled reports, for "since last time"."""

    def save(self, figures: ReportFigures) -> None: ...

    def history(self, limit: int = 12) -> list[ReportFigures]: ...


@dataclass(frozen=True)
class Published:
    """A built report with what goes to Slack: the chart and the full detail files."""

    report: HealthReport
    chart_png: bytes
    detail_markdown: str
    detail_csv: str


@dataclass(frozen=True)
class Destination:
    """Where an answer goes: a channel (None: the catalog's), as a new message or into an
    existing thread; `reply_url` reaches the asker if the channel refuses the bot."""

    channel: str | None
    thread_ts: str | None = None
    reply_url: str | None = None


# (the report, channel, response_url to tell the asker if the channel refuses us)
Publish = Callable[[Published, str | None, str | None], None]


class JobRunner(Protocol):
    """What a job queue calls back into: the job service."""

    def run(self, job_id: int, cancel: CancelToken) -> None:
        """Start a queued job (queued → running) and run it to its end."""
        ...

    def run_claimed(self, job_id: int, cancel: CancelToken) -> None:
        """Run a job the queue already marked running (claimed from a shared database)."""
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

    def thread_text(self, channel: str, thread_ts: str) -> str:
        """The thread's messages' text, bounded (to see which app it is about)."""
        ...

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        """Post the answer in the thread (queued: never raises, never blocks on Slack)."""
        ...
