"""Push jobs: submit (validated and authorized), run on the worker, cancel, list, recover."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from bot.domain.access import Access, Action
from bot.domain.errors import (
    JobNotFound,
    NotAuthorized,
    QueueFull,
    UnknownApp,
    UsageError,
)
from bot.domain.models import (
    AppSpec,
    Job,
    JobState,
    PushRequest,
)
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import (
    JobQueue,
    JobRunner,
    JobStore,
    OutcomeJournal,
    Reporter,
)
from bot.domain.push_rules import validate_sha, validate_version
from bot.domain.text import code
from bot.services.job_runs import JobRuns
from bot.services.outcomes import OutcomeWriter

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class QueueLimits:
    """Pushes that may wait at once: overall and per app (catalog `slack.limits`)."""

    overall: int = 100
    per_app: int = 10


class JobService(JobRuns):
    """The one entry point for push jobs, shared by Slack, the console and the CLI."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        all_apps: Callable[[], list[AppSpec]],
        access: Access,
        store: JobStore,
        pipeline: PushPipeline,
        reporter: Reporter,
        queue: Callable[[JobRunner], JobQueue],
        on_steps: Callable[[dict[str, float]], None] = lambda _: None,
        on_finished: Callable[[str, str], None] = lambda _app, _outcome: None,
        limits: QueueLimits = QueueLimits(),
        sleep: Callable[[float], None] = time.sleep,
        pause: Callable[..., None] = lambda *_: None,
        journal: OutcomeJournal | None = None,
        locked: Callable[[str, str | None, str], None] = lambda *_: None,
        admit_locked: Callable[[str, str | None, str], None] | None = None,
    ) -> None:
        # `locked(app, environment, what)` raises Locked when a lock stops the work (LockService):
        # asked as a job starts. `admit_locked` is the acknowledgement's quicker check
        # (LockService.admits, a snapshot of the locks); without it, `locked`.
        self._locked = locked
        self._admit_locked = admit_locked or locked
        self._apps = apps
        self._all_apps = all_apps
        self._access = access
        self._store = store
        self._pipeline = pipeline
        self._reporter = reporter
        self._on_steps = on_steps
        self._on_finished = on_finished
        self._limits = limits
        self._pause = pause
        self._journal = journal
        self._outcomes = OutcomeWriter(store, journal, sleep)
        self._closing = False
        self._intake: dict[str, int] = {}  # accepted, not yet committed, per app
        self._intake_lock = threading.Lock()
        self.worker = queue(self)

    def start(self) -> None:
        """Recover from a restart, then start the worker."""
        # Journaled outcomes first: their jobs are still `running` in the store, and the
        # recovery below would otherwise end them as interrupted.
        self.settle_unsaved()
        if self._journal is not None:
            self._journal.start()
        if self.worker.runs_here:  # else they run on workers, which look after their own
            for job in self._store.in_states(JobState.RUNNING):
                if self._store.transition(
                    job.id, JobState.INTERRUPTED, only_from=(JobState.RUNNING,)
                ):
                    self._report_finished(job.id)
        self.worker.start()
        if self.worker.runs_here:
            for job in self._store.in_states(JobState.QUEUED):
                self.worker.enqueue(job.id, job.app)

    def stop(self, grace_s: float = 0.0) -> None:
        """Drain: take no new pushes, let running ones finish for `grace_s`, then interrupt the
        rest (marked `interrupted`, their threads told). Queued jobs wait for the next start."""
        self._closing = True
        left = self.worker.drain(grace_s)
        if left:
            log.warning("stopping: interrupting jobs %s after %.0f s", left, grace_s)
        self.worker.stop()
        if self._journal is not None:
            self._journal.stop()

    def submit(self, request: PushRequest, request_key: str | None = None) -> tuple[Job, bool]:
        """Queue a push; returns the job and whether it is new (False for a retried request)."""
        if self._closing:
            raise UsageError(
                "ecrbot is restarting and takes no new pushes.", "Try again in a minute."
            )
        app = self.app(request.app, request.requested_by)
        validate_sha(request.sha)
        validate_version(app, request.version)
        self._access.require(request.requested_by, Action.PUSH, app)
        self._admit_locked(app.name, None, f"Pushes of {code(app.name)}")
        try:
            self._check_queue(app)
        except QueueFull:
            existing = self._store.by_key(request_key) if request_key else None
            if existing is None:
                raise
            return existing, False  # Slack retried a request that is already queued
        # Accepted now, stored behind the acknowledgement's back (SQLite): the worker and the
        # thread start once it is committed, and the asker hears if it never is.
        job, created, stored = self._store.accept(
            request_key or uuid.uuid4().hex,
            {
                "app": app.name,
                "sha": request.sha,
                "version": request.version,
                "requested_by": request.requested_by,
                "channel": request.channel,
                "reply_url": request.reply_url,
            },
        )
        if not created and (job.app, job.sha, job.version) != (
            app.name,
            request.sha,
            request.version,
        ):
            # One request key, one content: a form submitted again with another commit must
            # not be answered with the first one's job as if it were the same push.
            raise UsageError(
                f"This request already started job {job.id} ({code(job.app)} at "
                f"{code(job.sha)}); it can't also push {code(request.sha)}.",
                "Open the push form again to push another commit.",
            )
        if created:
            with self._intake_lock:
                self._intake[app.name] = self._intake.get(app.name, 0) + 1
            stored.add_done_callback(lambda done: self._stored(job, done))
        return job, created

    def _stored(self, job: Job, done: Future[Job]) -> None:
        """The accepted job is committed (queue it, open its thread), or never will be."""
        with self._intake_lock:
            self._intake[job.app] -= 1
        error = done.exception()
        if error is not None:
            log.error("job %s could not be stored (%s); it will not run", job.id, error)
            self._safely(self._reporter.not_recorded, job)
            return
        behind = self.worker.enqueue(job.id, job.app)
        if behind is None:
            self._safely(self._reporter.queued, job)
        else:
            self._safely(self._reporter.waiting, job, behind)

    def retry(
        self,
        job_id: int,
        user: str,
        request_key: str | None = None,
        reply_url: str | None = None,
    ) -> tuple[Job, bool]:
        """Push the same app, SHA and version again, as `user` (who must be allowed to push)."""
        job = self.get(job_id)
        request = PushRequest(job.app, job.sha, job.version, user, job.channel, reply_url)
        return self.submit(request, request_key)

    def cancel(self, job_id: int, user: str) -> Job:
        """Cancel a queued or running job; the requester, the app's pushers and admins may."""
        job = self.get(job_id)
        if not self._access.may_cancel(user, job, self._apps(job.app)):
            raise NotAuthorized(f"You may not cancel job {job_id}.", "Ask its requester.")
        if job.state.finished:
            raise UsageError(f"Job {job_id} already {job.state.value}.", "Nothing to cancel.")
        outcome = self.worker.cancel(job_id)
        # Not running in this process (queued, or orphaned): end it in the store ourselves.
        if outcome != "signalled" and self._store.transition(
            job_id, JobState.CANCELLED, only_from=(JobState.QUEUED, JobState.RUNNING)
        ):
            self._report_finished(job_id)
        return self._store.get(job_id) or job

    def app_of(self, job_id: int) -> str | None:
        """The app of a job, for the audit log only (admins read it): no access check."""
        job = self._store.get(job_id)
        return job.app if job is not None else None

    def get(self, job_id: int, user: str | None = None) -> Job:
        """A job by id; with `user`, only one they may see (others look like no job at all)."""
        job = self._store.get(job_id)
        if job is not None and user is not None and not self._may_see(user, job):
            job = None
        if job is None:
            raise JobNotFound(f"There is no job {job_id}.", "`/ecr jobs` lists recent jobs.")
        return job

    def recent(self, user: str | None = None, limit: int = 10) -> list[Job]:
        """Recent jobs; with `user`, their own and those of apps the jobs rule lets them see."""
        if user is None:
            return self._store.recent(limit)
        jobs = self._store.recent(max(limit * 20, 200))
        return [job for job in jobs if self._may_see(user, job)][:limit]

    def _may_see(self, user: str, job: Job) -> bool:
        return self._access.may_see_job(user, job, self._apps(job.app))

    def authorize_push(self, name: str, user: str) -> AppSpec:
        """The app `user` may push, or the error that says why not (before anything is read
        about the commit: who asks comes first)."""
        app = self.app(name, user)
        self._access.require(user, Action.PUSH, app)
        return app

    def app(self, name: str, user: str | None = None) -> AppSpec:
        """The catalog's app; an unknown name lists only the apps `user` may push."""
        app = self._apps(name)
        if app is None:
            known = self._access.visible_apps(user, self._all_apps()) if user else []
            raise UnknownApp(name, known)
        return app

    def _check_queue(self, app: AppSpec) -> None:
        # The worker's own queue, not a query: this runs inside the slash command's ack.
        waiting = self.worker.waiting()
        with self._intake_lock:
            for name, count in self._intake.items():
                waiting[name] = waiting.get(name, 0) + count
        mine, overall = waiting.get(app.name, 0), sum(waiting.values())
        if mine >= self._limits.per_app:
            raise QueueFull(
                f"Queue full for {code(app.name)} ({mine} waiting), try again later.",
                "`/ecr jobs` shows what is waiting; `/ecr cancel <job>` drops one.",
            )
        if overall >= self._limits.overall:
            raise QueueFull(
                f"ecrbot's queue is full ({overall} pushes waiting), try again later.",
                "`/ecr jobs` shows what is waiting.",
            )

            # else: cancelled while queued
