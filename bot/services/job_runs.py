"""Running a push job: the side the job queue calls, and how the job's thread is told."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.domain.access import Access
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, NotAuthorized, PipelineError, UsageError, new_error_id
from bot.domain.job_context import job_context
from bot.domain.locks import Locked
from bot.domain.models import AppSpec, Failure, Job, JobState, ProgressEvent, StepTimer
from bot.domain.on_behalf import OnBehalf, on_behalf_of
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import JobStore, OutcomeJournal, Reporter, UnsavedOutcome
from bot.domain.text import code
from bot.services.outcomes import LOST, STORED, OutcomeWriter, outcome_json

# JobService's logger: a job's log lines keep the name they had before this module was split off.
log = logging.getLogger("bot.services.jobs")


class JobRuns:
    """The JobRunner side of `JobService`, which holds the state it reads: what the queue calls."""

    _store: JobStore
    _pipeline: PushPipeline
    _access: Access
    _reporter: Reporter
    _journal: OutcomeJournal | None
    _outcomes: OutcomeWriter
    _locked: Callable[[str, str | None, str], None]
    _pause: Callable[..., None]
    _on_steps: Callable[[dict[str, float]], None]
    _on_finished: Callable[[str, str], None]
    _closing: bool

    if TYPE_CHECKING:  # defined by JobService

        def get(self, job_id: int, user: str | None = None) -> Job: ...

        def app(self, name: str, user: str | None = None) -> AppSpec: ...

    def run(self, job_id: int, cancel: CancelToken) -> None:
        with job_context(job_id):
            self._pause(20.0)
            if self._store.transition(job_id, JobState.RUNNING, only_from=(JobState.QUEUED,)):
                self._run_job(job_id, cancel)

    def run_claimed(self, job_id: int, cancel: CancelToken, owner: str) -> None:
        with job_context(job_id):
            self._run_job(job_id, cancel, owner)

    def settle_unsaved(self) -> None:
        if self._journal is None:
            return
        try:
            waiting = self._journal.replay()
        except Exception:  # the store is still away: the journal's loop tries again
            log.warning("replaying the outcome journal failed", exc_info=True)
            return
        if waiting:
            log.warning("%d job outcome(s) still wait in the journal for the store", waiting)

    def unsaved(self) -> list[int]:
        return self._journal.pending() if self._journal is not None else []

    def tell_waiting(self, job_id: int, behind: int) -> None:
        job = self._store.get(job_id)
        if job is not None:
            self._safely(self._reporter.waiting, job, behind)

    def tell_finished(self, job_id: int) -> None:
        self._report_finished(job_id)

    def _run_job(self, job_id: int, cancel: CancelToken, owner: str | None = None) -> None:
        job = self.get(job_id)
        log.info("job started: push %s @ %s for %s", job.app, job.sha, job.requested_by)
        self._safely(self._reporter.started, job)
        state, result, failure = JobState.FAILED, None, None
        timer = StepTimer()

        def emit(event: ProgressEvent) -> None:
            timer.observe(event)
            self._safely(self._reporter.progress, job, event)
            self._pause()

        try:
            app = self.app(job.app)
            # Asked again now: a pusher removed while the job waited must not get a build.
            if not self._access.may_push(job.requested_by, app):
                raise NotAuthorized(
                    f"{code(job.requested_by)} may no longer push {code(app.name)}.",
                    "The catalog or the user group changed while the job waited.",
                )
            # Asked again too: a lock taken while the job waited stops it before the build.
            self._locked(app.name, None, f"Pushes of {code(app.name)}")
            # AWS calls for this push are made for its requester (SourceIdentity, tags).
            with on_behalf_of(OnBehalf(job.requested_by, app.name, f"push-{job_id}")):
                result = self._pipeline.run(app, job.request, emit, cancel)
            state = JobState.SUCCEEDED
        except Cancelled:
            # A job stopped by a shutdown, or taken from this worker, was interrupted, not
            # cancelled: Retry runs it again.
            interrupted = self._closing or cancel.interrupted
            state = JobState.INTERRUPTED if interrupted else JobState.CANCELLED
        except PipelineError as error:
            failure = error.failure
        except Locked as error:
            failure = Failure(None, "Locked", error.message, error.next_step)
        except UsageError as error:
            failure = Failure(None, error.message, error.message, error.next_step)
        except NotAuthorized as error:
            failure = Failure(None, "Not allowed any more", error.message, error.next_step)
        except Exception:
            error_id = new_error_id()
            log.exception("job %s failed unexpectedly (error id %s)", job_id, error_id)
            failure = Failure(
                None,
                "ecrbot hit an unexpected error",
                "Something failed inside ecrbot itself; the details are in its log.",
                f"Tell #platform-team the error id `{error_id}`.",
                error_id=error_id,
            )
        outcome = UnsavedOutcome(
            job_id, state, datetime.now(UTC), result, failure, timer.durations(), owner
        )
        stored = self._outcomes.write(outcome)
        self._safely(self._on_steps, timer.durations())
        if stored == LOST:
            # Someone else ended the row (the job was reaped or cancelled in the store): what
            # this run did is not its outcome. The thread says how the row ended, never ours.
            log.error(
                "job %s was lost while running here (now %s); its run ended %s, not reported",
                job_id,
                self._store_state(job_id),
                outcome_json(outcome),
            )
            self._report_finished(job_id)
            return
        # Counted once its outcome is this run's (a lost job's run is not: the row says how).
        self._safely(self._on_finished, job.app, state.value)
        log.info("job %s: %s", state.value, failure.title if failure else "ok")
        if stored == STORED:
            self._report_finished(job_id)
        else:
            self._safely(self._reporter.finished, self._as_told(job, outcome))

    @staticmethod
    def _as_told(job: Job, outcome: UnsavedOutcome) -> Job:
        return dataclasses.replace(
            job,
            state=outcome.state,
            result=outcome.result,
            failure=outcome.failure,
            finished_at=outcome.finished_at,
            step_durations=outcome.steps,
        )

    def _store_state(self, job_id: int) -> str:
        try:
            job = self._store.get(job_id)
        except Exception:
            return "unknown"
        return job.state.value if job is not None else "gone"

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
