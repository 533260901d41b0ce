"""The domain's view of the world: Protocols the adapters implement and tests fake."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.domain.cancel import CancelToken
from bot.domain.ecr_features import SigningStatus
from bot.domain.models import (
    AppSpec,
    Failure,
    Job,
    JobState,
    LayerProgress,
    ProgressEvent,
    PushResult,
)

# Re-exported: the values the ports carry live in port_values.py.
from bot.domain.port_values import BuildSpec as BuildSpec
from bot.domain.port_values import BuiltImage as BuiltImage
from bot.domain.port_values import Checkout as Checkout
from bot.domain.port_values import Destination as Destination
from bot.domain.port_values import Published as Published
from bot.domain.port_values import PushedImage as PushedImage
from bot.domain.port_values import RegistryCredentials as RegistryCredentials
from bot.domain.port_values import RemoteImage as RemoteImage
from bot.domain.port_values import RepositoryInfo as RepositoryInfo
from bot.domain.port_values import UnsavedOutcome as UnsavedOutcome

# Re-exported: the reading ports live in ports_read.py.
from bot.domain.ports_read import AccountFacts as AccountFacts
from bot.domain.ports_read import RegistryScan as RegistryScan
from bot.domain.ports_read import ReportHistory as ReportHistory
from bot.domain.ports_read import SubjectTemplates as SubjectTemplates

if TYPE_CHECKING:  # annotations only: `ecrbot diagnose` never loads the report or triage
    from bot.domain.audit import AuditEntry, AuditQuery
    from bot.domain.audit_chain import AuditIntegrity
    from bot.domain.read_limits import ThreadContext
    from bot.domain.triage import TriageAnswer


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

    def find_image(
        self, repository: RepositoryInfo, tag: str, known: str | None = None
    ) -> RemoteImage | None:
        """The image `tag` names, or None; its revision is read from its labels unless its
        digest is `known` (the caller knows that image: revision None, one read fewer)."""
        ...

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

    def integrity(self, pause: Callable[[], None] | None = None) -> AuditIntegrity:
        """Whether the log is as ecrbot wrote it: its triggers, and its hash chain end to end.
        `pause` is called between slices of rows: the start's check yields to requests."""
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
