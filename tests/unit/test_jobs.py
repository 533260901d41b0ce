"""The job service on fakes: authorization, dedupe, cancel, restart recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.slack_directory import StaticDirectory
from bot.adapters.store import SqlJobStore
from bot.domain.access import Access
from bot.domain.errors import NotAuthorized, UnknownApp, UsageError
from bot.domain.models import JobState, PushRequest
from bot.domain.pipeline import PushPipeline
from bot.jobs import JobService
from tests.fakes import SHA, FakeEngine, FakeRegistry, FakeSource, RecordingReporter, app_spec
from tests.unit.test_pipeline import NOW


def service(
    tmp_path: Path, engine: FakeEngine | None = None
) -> tuple[JobService, RecordingReporter]:
    engine = engine or FakeEngine()
    apps = {"my-app": app_spec()}
    reporter = RecordingReporter()
    jobs = JobService(
        apps.get,
        lambda: sorted(apps),
        Access(("S0PLATFORM",), StaticDirectory({"S0APPTEAM": frozenset({"U0ALICE"})})),
        SqlJobStore(f"sqlite:///{tmp_path}/jobs.db"),
        PushPipeline(FakeSource(tmp_path), engine, FakeRegistry(engine), clock=lambda: NOW),
        reporter,
    )
    return jobs, reporter


def request(user: str = "U0ALICE", sha: str = "1a2b3c4") -> PushRequest:
    return PushRequest("my-app", sha, "1.4.0", user, "C0PLATFORM")


def test_a_pusher_queues_a_job_that_runs_to_success(tmp_path: Path) -> None:
    jobs, reporter = service(tmp_path)
    jobs.start()
    job, created = jobs.submit(request(), "trigger-1")
    assert created and job.state is JobState.QUEUED
    [finished] = reporter.wait_finished(1)
    assert finished.state is JobState.SUCCEEDED and finished.full_sha == SHA
    jobs.stop()


def test_the_same_request_key_does_not_start_a_second_job(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path)
    first, _ = jobs.submit(request(), "trigger-1")
    again, created = jobs.submit(request(), "trigger-1")
    assert again.id == first.id and not created


@pytest.mark.parametrize(
    ("req", "error"),
    [
        (request(user="U0MALLORY"), NotAuthorized),
        (PushRequest("nope", "1a2b3c4", None, "U0ALICE"), UnknownApp),
        (request(sha="xyz"), UsageError),
    ],
)
def test_refusals_run_nothing(tmp_path: Path, req: PushRequest, error: type[Exception]) -> None:
    jobs, reporter = service(tmp_path)
    with pytest.raises(error):
        jobs.submit(req)
    assert jobs.recent() == [] and reporter.events == []


def test_cancel_a_queued_job(tmp_path: Path) -> None:
    jobs, reporter = service(tmp_path)  # worker not started: the job stays queued
    job, _ = jobs.submit(request())
    assert jobs.cancel(job.id, "U0ALICE").state is JobState.CANCELLED
    assert reporter.finished_jobs[-1].state is JobState.CANCELLED
    with pytest.raises(UsageError, match="already cancelled"):
        jobs.cancel(job.id, "U0ALICE")


def test_only_requester_pushers_or_admins_may_cancel(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path)
    job, _ = jobs.submit(request())
    with pytest.raises(NotAuthorized):
        jobs.cancel(job.id, "U0MALLORY")


def test_a_restart_marks_running_jobs_interrupted_and_resumes_queued_ones(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path)
    running, _ = jobs.submit(request(), "a")
    queued, _ = jobs.submit(request(), "b")
    store = jobs._store
    assert store.transition(running.id, JobState.RUNNING, only_from=(JobState.QUEUED,))

    restarted, reporter = service(tmp_path)
    restarted.start()
    finished = {job.id: job.state for job in reporter.wait_finished(2)}
    assert finished == {running.id: JobState.INTERRUPTED, queued.id: JobState.SUCCEEDED}
    restarted.stop()
