"""Fakes for the domain's ports: injected through build_services / constructors, never patched."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.source import ShaNotFound
from bot.domain.audit import AuditEntry, AuditQuery
from bot.domain.audit_chain import GENESIS, AuditIntegrity, ChainReport
from bot.domain.cancel import CancelToken
from bot.domain.ecr_features import SigningStatus
from bot.domain.errors import Cancelled, StepError
from bot.domain.locks import Lock
from bot.domain.models import AppSpec, Job, LayerProgress, ProgressEvent, Step
from bot.domain.ports import (
    BuildSpec,
    BuiltImage,
    Checkout,
    PushedImage,
    RegistryCredentials,
    RemoteImage,
    RepositoryInfo,
)

HOST = "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
OTHER_SHA = "ffffffffffffffffffffffffffffffffffffffff"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def app_spec(**overrides: object) -> AppSpec:
    values: dict[str, object] = {
        "name": "my-app",
        "source": "https://github.com/acme/my-app.git",
        "repository": "my-app",
        "github": "acme/my-app",
        "pushers": ("S0APPTEAM",),
    }
    values.update(overrides)
    return AppSpec(**values)  # type: ignore[arg-type]


class FakeSource:
    """Commits by full SHA; short SHAs resolve by prefix, like git."""

    def __init__(self, tmp: Path, commits: dict[str, str] | None = None) -> None:
        self._tmp = tmp
        self.commits = commits if commits is not None else {SHA: "Add feature", OTHER_SHA: "Old"}
        self.checkouts: list[str] = []

    @contextmanager
    def checkout(self, app: AppSpec, sha: str) -> Iterator[Checkout]:
        matches = [full for full in self.commits if full.startswith(sha)]
        if len(matches) != 1:
            raise ShaNotFound(f"Commit `{sha}` is not in `{app.name}`'s repository.", "Check it.")
        self.checkouts.append(matches[0])
        yield Checkout(matches[0], self.commits[matches[0]], self._tmp)


class FakeEngine:
    """Records builds and pushes; can fail a step or block until cancelled."""

    def __init__(self) -> None:
        self.builds: list[BuildSpec] = []
        self.tags: list[tuple[str, str]] = []
        self.pushes: list[tuple[str, str, str]] = []
        self.build_lines = ["Step 1/2 : FROM scratch", "Step 2/2 : COPY busybox /bin/busybox"]
        self.build_error: str | None = None
        self.push_error: str | None = None
        self.push_error_times: int | None = None  # None: every push fails while push_error
        self.block_build: threading.Event | None = None
        self.building = threading.Event()
        self.layers = 3
        self.cached_steps = 0
        self.cache_fetches: list[str] = []
        self.cache_error: str | None = None
        self.local_images: set[str] = set()  # references fetch_cache finds without a download

    def ping(self) -> None:
        return None

    def build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage:
        self.builds.append(spec)
        self.building.set()
        for line in self.build_lines:
            on_line(line)
        if self.block_build is not None:  # set() it to let the build finish, or cancel the job
            cancel.on_cancel(self.block_build.set)
            self.block_build.wait(10)
            if cancel.cancelled:
                raise Cancelled
        if self.build_error:
            raise StepError(Step.BUILD, self.build_error)
        image_id = "sha256:" + hashlib.sha256(spec.tag.encode()).hexdigest()
        return BuiltImage(image_id, len(self.build_lines), self.cached_steps)

    def fetch_cache(
        self, reference: str, credentials: RegistryCredentials, cancel: CancelToken
    ) -> bool:
        self.cache_fetches.append(reference)
        if self.cache_error:
            raise StepError(Step.BUILD, self.cache_error)
        return reference not in self.local_images

    def tag(self, image_id: str, repository_uri: str, tag: str) -> None:
        self.tags.append((repository_uri, tag))

    def push(
        self,
        repository_uri: str,
        tag: str,
        credentials: RegistryCredentials,
        on_layers: Callable[[tuple[LayerProgress, ...]], None],
        cancel: CancelToken,
    ) -> PushedImage:
        self.pushes.append((repository_uri, tag, credentials.password))
        if self.push_error:
            error = self.push_error
            if self.push_error_times is not None:
                self.push_error_times -= 1
                if self.push_error_times <= 0:
                    self.push_error = None
            raise StepError(Step.PUSH, error)
        layers = tuple(LayerProgress(f"l{i}", "Pushed", 10, 10) for i in range(self.layers))
        on_layers(layers)
        return PushedImage(digest=_digest(repository_uri), size_bytes=1234)


class FakeRegistry:
    """Repositories and images by (repository, tag); pushes land through `land`."""

    def __init__(self, engine: FakeEngine | None = None) -> None:
        self.repos = {"my-app": RepositoryInfo("my-app", f"{HOST}/my-app", immutable=True)}
        self.images: dict[tuple[str, str], RemoteImage] = {}
        self.engine = engine
        self.calls: list[str] = []
        self.retags: list[tuple[str, str, str]] = []
        # What DescribeImageSigningStatus says after a push (None: the registry signs nothing).
        self.signing: tuple[SigningStatus, ...] | None = None
        self.signing_error: str | None = None

    def repository(self, name: str) -> RepositoryInfo:
        self.calls.append("repository")
        if name not in self.repos:
            raise StepError(
                Step.AUTHENTICATE,
                f"RepositoryNotFoundException: The repository with name '{name}' does not exist",
            )
        return self.repos[name]

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        self.calls.append("credentials-fresh" if fresh else "credentials")
        return RegistryCredentials("AWS", "123456789012-auth-token", f"https://{HOST}")

    def find_image(
        self, repository: RepositoryInfo, tag: str, known: str | None = None
    ) -> RemoteImage | None:
        self.calls.append("find_image")
        if self.engine is not None:  # images the fake engine pushed are in the registry
            for uri, pushed_tag, _ in self.engine.pushes:
                if uri == repository.uri and pushed_tag == tag:
                    build = self.engine.builds[-1]
                    revision = build.labels["org.opencontainers.image.revision"]
                    return RemoteImage(_digest(uri), (tag,), 1234, revision)
        return self.images.get((repository.name, tag))

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        self.calls.append("image_by_digest")
        return self._by_digest(repository, digest)

    def _by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        pushed = [
            tag
            for uri, tag, _ in (self.engine.pushes if self.engine is not None else ())
            if uri == repository.uri and _digest(uri) == digest
        ]
        if pushed:
            return RemoteImage(digest, tuple(pushed), 1234)
        for (name, _), image in self.images.items():
            if name == repository.name and image.digest == digest:
                return image
        return None

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        self.retags.append((repository.name, source, new_tag))
        image = self._by_digest(repository, source) or self.images[(repository.name, source)]
        self.images[(repository.name, new_tag)] = image

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        self.calls.append("signing_status")
        if self.signing_error:
            raise StepError(Step.VERIFY, self.signing_error)
        return self.signing


class FakeRecords:
    """What ecrbot pushed, as the job store would answer: (app, full SHA) -> digest."""

    def __init__(self) -> None:
        self.pushed: dict[tuple[str, str], str] = {}

    def pushed_digest(self, app: str, full_sha: str) -> str | None:
        return self.pushed.get((app, full_sha))

    def last_pushed_digest(self, app: str) -> str | None:
        mine = [digest for (name, _), digest in self.pushed.items() if name == app]
        return mine[-1] if mine else None


class RecordingReporter:
    """Collects what a Slack thread would show."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, object]] = []
        self.finished_jobs: list[Job] = []
        self.done = threading.Condition()

    def queued(self, job: Job) -> None:
        self.events.append(("queued", job.id, None))

    def waiting(self, job: Job, behind: int) -> None:
        self.events.append(("waiting", job.id, behind))

    def started(self, job: Job) -> None:
        self.events.append(("started", job.id, None))

    def progress(self, job: Job, event: ProgressEvent) -> None:
        self.events.append(("progress", job.id, event))

    def finished(self, job: Job) -> None:
        with self.done:
            self.events.append(("finished", job.id, job.state))
            self.finished_jobs.append(job)
            self.done.notify_all()

    def not_recorded(self, job: Job) -> None:
        with self.done:
            self.events.append(("not_recorded", job.id, None))
            self.done.notify_all()

    def wait_finished(self, count: int, timeout: float = 10.0) -> list[Job]:
        with self.done:
            self.done.wait_for(lambda: len(self.finished_jobs) >= count, timeout)
        return list(self.finished_jobs)


class MemoryAuditLog:
    """The audit log in a list, written at once; `flushes` counts the waits asked for."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.recorded: list[AuditEntry] = []
        self.flushes = 0
        self._clock = clock
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self.recorded.append(entry if entry.at else replace(entry, at=self._clock()))

    def entries(self, query: AuditQuery) -> list[AuditEntry]:
        return self._matching(query)[: query.limit]

    def count(self, query: AuditQuery) -> int:
        return len(self._matching(query))

    def flush(self, timeout: float = 2.0) -> None:
        self.flushes += 1

    def integrity(self, pause: Callable[[], None] | None = None) -> AuditIntegrity:
        """A list nobody else can rewrite: always intact."""
        with self._lock:
            count = len(self.recorded)
        head = (count, GENESIS) if count else (None, None)
        return AuditIntegrity((), ChainReport(count, *head))

    def _matching(self, query: AuditQuery) -> list[AuditEntry]:
        with self._lock:
            newest_first = list(reversed(self.recorded))
        return [
            entry
            for entry in sorted(newest_first, key=lambda e: e.at or EPOCH, reverse=True)
            if (query.app is None or entry.app == query.app)
            and (query.user is None or entry.user == query.user)
            and (query.since is None or (entry.at is not None and entry.at >= query.since))
        ]


def _digest(uri: str) -> str:
    return "sha256:" + hashlib.sha256(uri.encode()).hexdigest()


class MemoryLockStore:
    """`LockStore` in a dict, keyed like the table: (app, environment)."""

    def __init__(self) -> None:
        self.locks: dict[tuple[str, str | None], Lock] = {}

    def take(self, lock: Lock) -> Lock:
        return self.locks.setdefault((lock.app, lock.environment), lock)

    def release(self, app: str, environment: str | None) -> Lock | None:
        return self.locks.pop((app, environment), None)

    def held(self, app: str | None = None) -> list[Lock]:
        found = [lock for lock in self.locks.values() if app in (None, lock.app)]
        return sorted(found, key=lambda lock: lock.locked_at)
