"""The job service on fakes: authorization, dedupe, cancel, restart recovery."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.store import SqlJobStore
from bot.domain.access import Access
from bot.domain.errors import JobNotFound, NotAuthorized, QueueFull, UnknownApp, UsageError
from bot.domain.models import JobState, PushRequest
from bot.domain.pipeline import PushPipeline
from bot.runtime.executors import Concurrency, Executors
from bot.runtime.worker import Worker
from bot.services.jobs import JobService, QueueLimits
from tests.fakes import SHA, FakeEngine, FakeRegistry, FakeSource, RecordingReporter, app_spec
from tests.unit.test_pipeline import NOW


class Groups:
    """A directory whose groups a test can change while jobs wait."""

    def __init__(self) -> None:
        self.groups = {"S0APPTEAM": {"U0ALICE"}, "S0PLATFORM": {"U0ADMIN"}}

    def members(self, group_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(group_id, ()))


# The waiting notices' pool, shared by this module's services (idle threads, no state).
NOTICES = Executors(Concurrency()).pool("notices")


def service(
    tmp_path: Path,
    engine: FakeEngine | None = None,
    *,
    directory: Groups | None = None,
    store: SqlJobStore | None = None,
    limits: QueueLimits | None = None,
    sleeps: list[float] | None = None,
    sleep: Callable[[float], None] | None = None,
    locked: Callable[[str, str | None, str], None] = lambda *_: None,
    admit_locked: Callable[[str, str | None, str], None] | None = None,
) -> tuple[JobService, RecordingReporter]:
    engine = engine or FakeEngine()
    apps = {
        "my-app": app_spec(),
        "other-app": app_spec(name="other-app", repository="my-app", pushers=("S0OTHER",)),
    }
    reporter = RecordingReporter()
    jobs = JobService(
        apps.get,
        lambda: list(apps.values()),
        Access(("S0PLATFORM",), directory or Groups()),
        store or SqlJobStore(f"sqlite:///{tmp_path}/jobs.db"),
        PushPipeline(FakeSource(tmp_path), engine, FakeRegistry(engine), clock=lambda: NOW),
        reporter,
        queue=lambda runner: Worker(runner.run, runner.tell_waiting, NOTICES, max_parallel=2),
        limits=limits or QueueLimits(),
        sleep=sleep or (sleeps.append if sleeps is not None else lambda _: None),
        locked=locked,
        admit_locked=admit_locked,
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


def test_an_unknown_app_lists_only_the_apps_the_user_pushes(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path)
    with pytest.raises(UnknownApp) as alice:
        jobs.submit(PushRequest("nope", "1a2b3c4", None, "U0ALICE"))
    assert "`my-app`" in alice.value.next_step and "other-app" not in alice.value.next_step
    with pytest.raises(UnknownApp) as outsider:
        jobs.submit(PushRequest("nope", "1a2b3c4", None, "U0MALLORY"))
    assert "my-app" not in str(outsider.value)


def test_a_full_queue_refuses_at_once_per_app_and_overall(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path, limits=QueueLimits(overall=3, per_app=2))
    jobs.submit(request(), "a")
    jobs.submit(request(), "b")
    with pytest.raises(QueueFull, match=r"Queue full for `my-app` \(2 waiting\)"):
        jobs.submit(request(), "c")
    # A retry of a request that is already queued is the same job, full queue or not.
    assert jobs.submit(request(), "b")[1] is False
    jobs.submit(PushRequest("other-app", "1a2b3c4", None, "U0ADMIN"), "d")
    with pytest.raises(QueueFull, match="3 pushes waiting"):
        jobs.submit(PushRequest("other-app", "1a2b3c4", None, "U0ADMIN"), "e")


def test_a_pusher_removed_while_the_job_waits_gets_no_build(tmp_path: Path) -> None:
    groups, engine = Groups(), FakeEngine()
    jobs, reporter = service(tmp_path, engine, directory=groups)
    jobs.submit(request())
    groups.groups["S0APPTEAM"] = set()  # removed from the team before the job starts
    jobs.start()
    [finished] = reporter.wait_finished(1)
    jobs.stop()
    assert finished.state is JobState.FAILED and engine.builds == []
    assert finished.failure is not None and "no longer push" in finished.failure.explanation


def test_others_jobs_are_shown_only_to_admins_and_that_apps_pushers(tmp_path: Path) -> None:
    jobs, _ = service(tmp_path)
    mine, _ = jobs.submit(request(), "a")
    theirs, _ = jobs.submit(PushRequest("other-app", "1a2b3c4", None, "U0ADMIN"), "b")
    assert [j.id for j in jobs.recent("U0ALICE")] == [mine.id]
    assert [j.id for j in jobs.recent("U0ADMIN")] == [theirs.id, mine.id]
    assert jobs.recent("U0MALLORY") == []
    with pytest.raises(JobNotFound):
        jobs.get(theirs.id, "U0ALICE")


def _lock(path: Path) -> sqlite3.Connection:
    """Another process's write transaction holding the SQLite database."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_locked_store_delays_the_outcome_but_loses_nothing(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.block_build = threading.Event()
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db", busy_timeout_ms=50)
    sleeps: list[float] = []
    holders: list[sqlite3.Connection] = []

    def release_after_two_waits(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            holders[0].rollback()

    jobs, reporter = service(tmp_path, engine, store=store, sleep=release_after_two_waits)
    jobs.start()
    job, _ = jobs.submit(request())
    assert engine.building.wait(5)
    holders.append(_lock(tmp_path / "jobs.db"))
    engine.block_build.set()
    [finished] = reporter.wait_finished(1, timeout=30)
    jobs.stop()
    assert finished.state is JobState.SUCCEEDED and len(sleeps) == 2
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.SUCCEEDED and stored.result


def test_an_outcome_the_store_never_takes_is_still_told(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.block_build = threading.Event()
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db", busy_timeout_ms=20)
    sleeps: list[float] = []
    jobs, reporter = service(tmp_path, engine, store=store, sleeps=sleeps)
    jobs.start()
    job, _ = jobs.submit(request())
    assert engine.building.wait(5)
    holder = _lock(tmp_path / "jobs.db")  # held until the outcome has been told
    engine.block_build.set()
    [told] = reporter.wait_finished(1, timeout=30)
    holder.rollback()
    jobs.stop()
    assert told.id == job.id and told.state is JobState.SUCCEEDED and told.result is not None
    assert len(sleeps) == 7  # 8 attempts, a growing wait between them


@pytest.mark.wall_clock
def test_a_push_is_acknowledged_while_the_database_is_locked_and_runs_once_stored(
    tmp_path: Path,
) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db", busy_timeout_ms=20, intake_backoff_s=0.01)
    jobs, reporter = service(tmp_path, store=store)
    jobs.start()
    holder = _lock(tmp_path / "jobs.db")
    started = time.monotonic()
    job, created = jobs.submit(request(), "locked")
    assert created and time.monotonic() - started < 0.5  # the ack never waits for the disk
    assert jobs.get(job.id).id == job.id  # known at once, though not yet committed
    time.sleep(0.2)
    holder.rollback()
    [finished] = reporter.wait_finished(1, timeout=30)
    jobs.stop()
    assert finished.id == job.id and finished.state is JobState.SUCCEEDED


def test_a_push_the_database_never_takes_is_told_and_never_runs(tmp_path: Path) -> None:
    engine = FakeEngine()
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db", busy_timeout_ms=5, intake_backoff_s=0.001)
    jobs, reporter = service(tmp_path, engine, store=store)
    jobs.start()
    holder = _lock(tmp_path / "jobs.db")
    job, _ = jobs.submit(request(), "never")
    deadline = time.monotonic() + 30
    while ("not_recorded", job.id, None) not in reporter.events and time.monotonic() < deadline:
        time.sleep(0.05)
    holder.rollback()
    jobs.stop()
    assert ("not_recorded", job.id, None) in reporter.events
    assert engine.builds == [] and jobs.worker.queue_depth == 0
