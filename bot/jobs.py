"""Push jobs: submit (validated and authorized), run on the worker, cancel, list, recover."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from bot.domain.access import Access
from bot.domain.cancel import CancelToken
from bot.domain.errors import (
    Cancelled,
    JobNotFound,
    NotAuthorized,
    PipelineError,
    UnknownApp,
    UsageError,
)
from bot.domain.models import (
    AppSpec,
    Failure,
    Job,
    JobState,
    ProgressEvent,
    PushRequest,
    StepTimer,
)
from bot.domain.pipeline import PushPipeline, validate_sha, validate_version
from bot.domain.text import code
from bot.logs import job_context
from bot.ports import JobStore, Reporter
from bot.worker import Worker

log = logging.getLogger(__name__)


class JobService:
    """The one entry point for push jobs, shared by Slack, the console and the CLI."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        app_names: Callable[[], list[str]],
        access: Access,
        store: JobStore,
        pipeline: PushPipeline,
        reporter: Reporter,
        max_parallel: int = 2,
        on_steps: Callable[[dict[str, float]], None] = lambda _: None,
    ) -> None:
        self._apps = apps
        self._app_names = app_names
        self._access = access
        self._store = store
        self._pipeline = pipeline
        self._reporter = reporter
        self._on_steps = on_steps
        self.worker = Worker(self._run, self._waiting, max_parallel)

    def start(self) -> None:
        """Recover from a restart, then start the worker."""
        for job in self._store.in_states(JobState.RUNNING):
            if self._store.transition(job.id, JobState.INTERRUPTED, only_from=(JobState.RUNNING,)):
                self._report_finished(job.id)
        self.worker.start()
        for job in self._store.in_states(JobState.QUEUED):
            self.worker.enqueue(job.id, job.app)

    def stop(self) -> None:
        self.worker.stop()

    def submit(self, request: PushRequest, request_key: str | None = None) -> tuple[Job, bool]:
        """Queue a push; returns the job and whether it is new (False for a retried request)."""
        app = self.app(request.app)
        validate_sha(request.sha)
        validate_version(app, request.version)
        if not self._access.may_push(request.requested_by, app):
            raise NotAuthorized(
                f"You may not push {code(app.name)}.",
                "Its pushers and the platform admins may; ask #platform-team to add you.",
            )
        job, created = self._store.create(
            request_key or uuid.uuid4().hex,
            {
                "app": app.name,
                "sha": request.sha,
                "version": request.version,
                "requested_by": request.requested_by,
                "channel": request.channel,
            },
        )
        if created:
            behind = self.worker.enqueue(job.id, job.app)
            if behind is None:
                self._safely(self._reporter.queued, job)
            else:
                self._safely(self._reporter.waiting, job, behind)
        return job, created

    def retry(self, job_id: int, user: str, request_key: str | None = None) -> tuple[Job, bool]:
        """Push the same app, SHA and version again, as `user`."""
        job = self.get(job_id)
        request = PushRequest(job.app, job.sha, job.version, user, job.channel)
        return self.submit(request, request_key)

    def cancel(self, job_id: int, user: str) -> Job:
        """Cancel a queued or running job; the requester, the app's pushers and admins may."""
        job = self.get(job_id)
        app = self._apps(job.app)
        allowed = user == job.requested_by or (app is not None and self._access.may_push(user, app))
        if not allowed:
            raise NotAuthorized(f"You may not cancel job {job_id}.", "Ask its requester.")
        if job.state.finished:
            raise UsageError(f"Job {job_id} already {job.state.value}.", "Nothing to cancel.")
        outcome = self.worker.cancel(job_id)
        # Not running in this process (queued, or orphaned): end it in the store ourselves.
        if outcome != "signalled" and self._store.transition(
            job_id, JobState.CANCELLED, only_from=(JobState.QUEUED, JobState.RUNNING)
        ):
            self._report_finished(job_id)
        return self.get(job_id)

    def get(self, job_id: int) -> Job:
        job = self._store.get(job_id)
        if job is None:
            raise JobNotFound(f"There is no job {job_id}.", "`/ecr jobs` lists recent jobs.")
        return job

    def recent(self, limit: int = 10) -> list[Job]:
        return self._store.recent(limit)

    def app(self, name: str) -> AppSpec:
        app = self._apps(name)
        if app is None:
            raise UnknownApp(name, self._app_names())
        return app

    def _run(self, job_id: int, cancel: CancelToken) -> None:
        with job_context(job_id):
            self._run_job(job_id, cancel)

    def _run_job(self, job_id: int, cancel: CancelToken) -> None:
        if not self._store.transition(job_id, JobState.RUNNING, only_from=(JobState.QUEUED,)):
            return  # cancelled while queued
        job = self.get(job_id)
        log.info("job started: push %s @ %s for %s", job.app, job.sha, job.requested_by)
        self._safely(self._reporter.started, job)
        state, result, failure = JobState.FAILED, None, None
        timer = StepTimer()

        def emit(event: ProgressEvent) -> None:
            timer.observe(event)
            self._safely(self._reporter.progress, job, event)

        try:
            app = self.app(job.app)
            result = self._pipeline.run(app, job.request, emit, cancel)
            state = JobState.SUCCEEDED
        except Cancelled:
            state = JobState.CANCELLED
        except PipelineError as error:
            failure = error.failure
        except UsageError as error:
            failure = Failure(None, error.message, error.message, error.next_step)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("job %s failed unexpectedly (error id %s)", job_id, error_id)
            failure = Failure(
                None,
                "ecrbot hit an unexpected error",
                "Something failed inside ecrbot itself; the details are in its log.",
                f"Tell #platform-team the error id `{error_id}`.",
                error_id=error_id,
            )
        self._store.finish(
            job_id,
            state,
            result=result,
            failure=failure,
            full_sha=result.revision if result else None,
            steps=timer.durations(),
        )
        self._safely(self._on_steps, timer.durations())
        log.info("job %s: %s", state.value, failure.title if failure else "ok")
        self._report_finished(job_id)

    def _waiting(self, job_id: int, behind: int) -> None:
        job = self._store.get(job_id)
        if job is not None:
            self._safely(self._reporter.waiting, job, behind)

    def _report_finished(self, job_id: int) -> None:
        job = self._store.get(job_id)
        if job is not None:
            self._safely(self._reporter.finished, job)

    @staticmethod
    def _safely(method: Callable[..., None], *args: object) -> None:
        # Telling people must never break the build: a Slack outage is logged, not raised.
        try:
            method(*args)
        except Exception:
            log.exception("reporter %s failed", getattr(method, "__name__", method))
