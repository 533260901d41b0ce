"""Domain values: apps, push requests, jobs, progress events and results."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from bot.domain.environments import Environment

SHA_PATTERN = re.compile(r"[0-9a-f]{7,40}")  # use fullmatch: `$` also matches before "\n"


@dataclass(frozen=True)
class BuildSecret:
    """A BuildKit secret mount (`RUN --mount=type=secret,id=...`): the value comes from an
    environment variable or a file on the bot's host, never from the catalog itself."""

    id: str
    env: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class BuildSettings:
    """How an app's image is built: the builder, the stage, build args, secrets, platforms,
    and whether layers are reused from the app's newest image in ECR."""

    builder: Literal["buildkit", "classic"] = "buildkit"
    target: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()  # never secrets: the catalog refuses them
    secrets: tuple[BuildSecret, ...] = ()
    platforms: tuple[str, ...] = ()
    registry_cache: bool = True


@dataclass(frozen=True)
class AppSpec:
    """One app of the catalog: where its source lives and where its image goes."""

    name: str
    source: str
    repository: str
    dockerfile: str = "Dockerfile"
    context: str = "."
    branch: str = "main"
    github: str | None = None
    role: str | None = None
    pushers: tuple[str, ...] = ()
    sha_tag: Literal["full", "short"] = "full"
    tag_latest: bool = False
    queue: str | None = None  # the Celery queue whose workers build it (scaled-out backend)
    build: BuildSettings = BuildSettings()
    # The claim keys of the repository's OIDC `sub` when GitHub's API can't be asked.
    oidc_subject_keys: tuple[str, ...] | None = None
    # Where its image is promoted, in order (catalog `environments:`); empty: pushes only.
    environments: tuple[Environment, ...] = ()

    def environment(self, name: str) -> Environment | None:
        return next((env for env in self.environments if env.name == name), None)


@dataclass(frozen=True)
class RegistrySpec:
    """The ECR registry images are pushed to."""

    account_id: str
    region: str


@dataclass(frozen=True)
class PushRequest:
    """What someone asked for: push `app` at `sha`, optionally also tagged `version`."""

    app: str
    sha: str
    version: str | None
    requested_by: str
    channel: str | None = None
    # Slack's response_url for the request: how to tell the asker when the channel refuses us.
    reply_url: str | None = None


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class Job:
    """A push as the job store keeps it."""

    id: int
    app: str
    sha: str
    version: str | None
    requested_by: str
    channel: str | None
    state: JobState
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    thread_ts: str | None = None
    full_sha: str | None = None
    result: PushResult | None = None
    failure: Failure | None = None
    step_durations: dict[str, float] = field(default_factory=dict)
    reply_url: str | None = None
    worker: str | None = None  # the worker that ran it (the scaled-out backend: its name)

    @property
    def request(self) -> PushRequest:
        return PushRequest(
            self.app, self.sha, self.version, self.requested_by, self.channel, self.reply_url
        )

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds()


class Step(StrEnum):
    """The pipeline's steps, in order."""

    CHECKOUT = "checkout"
    AUTHENTICATE = "authenticate"
    PREFLIGHT = "preflight"
    BUILD = "build"
    PUSH = "push"
    VERIFY = "verify"


@dataclass(frozen=True)
class LayerProgress:
    """One layer's push state as the engine reports it."""

    id: str
    status: str
    current: int = 0
    total: int = 0

    @property
    def done(self) -> bool:
        return self.status in ("Pushed", "Layer already exists", "Mounted from")


@dataclass(frozen=True)
class ProgressEvent:
    """Something the pipeline did; reporters render it (Slack thread, terminal)."""

    step: Step
    kind: Literal["started", "progress", "finished", "warning", "log"]
    message: str
    build_step: tuple[int, int] | None = None
    layers: tuple[LayerProgress, ...] = ()


class StepTimer:
    """Seconds per pipeline step, from the progress events (the report's slowest step)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: dict[str, float] = {}
        self._ended: dict[str, float] = {}

    def observe(self, event: ProgressEvent) -> None:
        now = self._clock()
        self._started.setdefault(event.step.value, now)
        self._ended[event.step.value] = now

    def durations(self) -> dict[str, float]:
        return {step: round(self._ended[step] - start, 3) for step, start in self._started.items()}


@dataclass(frozen=True)
class PushResult:
    """What landed in the registry."""

    image_uris: tuple[str, ...]
    digest: str
    size_bytes: int
    duration_s: float
    revision: str
    pushed: bool = True
    warnings: tuple[str, ...] = ()
    # Managed signing's outcome in one sentence ('' when the registry signs nothing).
    signing: str = ""


@dataclass(frozen=True)
class Failure:
    """Why a job failed, in words for people: the step, the reason and the runbook's fix."""

    step: Step | None
    title: str
    explanation: str
    fix: str
    log_tail: tuple[str, ...] = field(default=())
    error_id: str | None = None
