"""Who owns a running job, on the real PostgreSQL the scaled-out fleet shares (issue #18).

A worker whose job was reaped or cancelled must never push it nor end it "succeeded"; a job
cancelled right after its claim never runs; liveness is judged on the database's clock, so a
worker host's skewed clock changes nothing; a busy fleet's claim backs off and gives up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.adapters.fleet import SqlFleet
from bot.adapters.slack_directory import StaticDirectory
from bot.adapters.store import SqlJobStore
from bot.domain.access import Access
from bot.domain.fleet import Claim
from bot.domain.models import Failure, Job, JobState
from bot.domain.pipeline import PushPipeline
from bot.runtime.celery_queue import DEAD_AFTER_S, DISPATCH, BusyBackoff, CeleryQueue, celery_app
from bot.services.jobs import JobService
from tests.databases import database
from tests.fakes import FakeEngine, FakeRegistry, FakeSource, RecordingReporter, app_spec
from tests.unit.test_jobs import request
from tests.unit.test_pipeline import NOW

GONE = Failure(None, "The worker building it stopped", "w1 stopped answering.", "Press Retry.")


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with database("postgresql", tmp_path) as found:
        yield found


@dataclass
class Worker:
    """One `ecrbot worker` process, in this test process: its services on the shared database."""

    store: SqlJobStore
    fleet: SqlFleet
    jobs: JobService
    queue: CeleryQueue
    engine: FakeEngine
    source: FakeSource
    reporter: RecordingReporter

    def take(self, app: str = "my-app") -> threading.Thread:
        """Run one `ecrbot.dispatch(app)` task as Celery would, in its own thread."""
        task = self.queue.celery.tasks[DISPATCH]
        runner = threading.Thread(target=task.apply, args=([app],), daemon=True)
        runner.start()
        return runner

    def stop(self) -> None:
        self.jobs.stop()


def worker(
    tmp_path: Path,
    url: str,
    *,
    fleet: SqlFleet | None = None,
    busy: BusyBackoff | None = None,
    limit: int = 2,
) -> Worker:
    store = SqlJobStore(url)
    fleet = fleet or SqlFleet(store.engine)
    engine, source, reporter = FakeEngine(), FakeSource(tmp_path), RecordingReporter()
    apps = {"my-app": app_spec(), "other-app": app_spec(name="other-app")}
    jobs = JobService(
        apps.get,
        lambda: list(apps.values()),
        Access(("S0PLATFORM",), StaticDirectory({"S0APPTEAM": frozenset({"U0ALICE"})})),
        store,
        PushPipeline(source, engine, FakeRegistry(engine), clock=lambda: NOW),
        reporter,
        queue=lambda runner: CeleryQueue(
            runner,
            celery_app("memory://"),
            fleet,
            lambda _: None,
            limit,
            "w1",
            busy or BusyBackoff(),
        ),
        sleep=lambda _: None,
    )
    queue = jobs.worker
    assert isinstance(queue, CeleryQueue)
    queue.serve_tasks()
    return Worker(store, fleet, jobs, queue, engine, source, reporter)


def test_a_reaped_job_is_stopped_never_pushes_and_never_ends_succeeded(
    tmp_path: Path, url: str
) -> None:
    w1 = worker(tmp_path, url)
    w1.engine.block_build = threading.Event()
    job, _ = w1.jobs.submit(request())
    runner = w1.take()
    assert w1.engine.building.wait(10)

    reaper = SqlFleet(w1.store.engine)  # another process that took it for dead
    [running] = reaper.mine_running("w1")
    assert reaper.interrupt(running, GONE)
    runner.join(30)
    w1.stop()

    assert not runner.is_alive()
    assert w1.engine.pushes == []  # the heartbeat told it the job was lost: stopped
    told = [finished.state for finished in w1.reporter.finished_jobs]
    assert told == [JobState.INTERRUPTED]  # the thread hears the row's end, never "succeeded"
    stored = w1.store.get(job.id)
    assert stored is not None and stored.state is JobState.INTERRUPTED
    assert stored.failure == GONE


def test_an_outcome_write_on_a_job_the_worker_lost_changes_nothing(
    tmp_path: Path, url: str
) -> None:
    store = SqlJobStore(url)
    fleet = SqlFleet(store.engine)
    job, _ = store.create("k1", job_fields())
    claimed = fleet.claim_next("my-app", "w1", 2)
    assert isinstance(claimed, Job)

    assert store.finish(job.id, JobState.SUCCEEDED, owner="w2") is None  # not w2's
    assert fleet.interrupt(claimed, GONE)  # reaped
    assert store.finish(job.id, JobState.SUCCEEDED, owner="w1") is None  # 0 rows: lost
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.INTERRUPTED
    beat = fleet.heartbeat("w1", [job.id])
    assert beat.lost == {job.id} and beat.to_stop == {job.id}


def test_a_job_cancelled_between_its_claim_and_its_start_never_runs(
    tmp_path: Path, url: str
) -> None:
    class CancelledRightAfterTheClaim(SqlFleet):
        """A cancel taken by a replica in the moment between the claim and the start."""

        def claim_next(self, app: str, worker: str, limit: int) -> Job | Claim:
            claimed = super().claim_next(app, worker, limit)
            if isinstance(claimed, Job):
                assert self.request_cancel(claimed.id)  # it is running: "signalled"
            return claimed

    store = SqlJobStore(url)
    w1 = worker(tmp_path, url, fleet=CancelledRightAfterTheClaim(store.engine))
    job, _ = w1.jobs.submit(request())
    w1.take().join(30)
    w1.stop()

    assert w1.source.checkouts == [] and w1.engine.builds == [] and w1.engine.pushes == []
    assert [finished.state for finished in w1.reporter.finished_jobs] == [JobState.CANCELLED]
    stored = w1.store.get(job.id)
    assert stored is not None and stored.state is JobState.CANCELLED


def test_a_claim_skips_a_queued_job_someone_asked_to_cancel(tmp_path: Path, url: str) -> None:
    store = SqlJobStore(url)
    fleet = SqlFleet(store.engine)
    job, _ = store.create("k1", job_fields())
    assert fleet.request_cancel(job.id) is False  # queued: the replica ends it in the store
    assert fleet.claim_next("my-app", "w1", 2) is Claim.NOTHING
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.QUEUED and stored.started_at is None


def test_liveness_is_judged_on_the_databases_clock_whatever_the_hosts_say(
    tmp_path: Path, url: str
) -> None:
    store = SqlJobStore(url)
    behind = SqlFleet(store.engine, host_clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    ahead = SqlFleet(store.engine, host_clock=lambda: datetime.now(UTC) + timedelta(minutes=10))
    first, _ = store.create("k1", job_fields())
    store.create("k2", job_fields())
    claimed = behind.claim_next("my-app", "w1", 2)  # w1's host clock is 10 minutes slow
    assert isinstance(claimed, Job) and claimed.id == first.id
    assert behind.heartbeat("w1", [first.id]).to_stop == set()

    # A reaper on a host 10 minutes fast sees a live job, and the second worker can't claim.
    assert ahead.stale(DEAD_AFTER_S) == []
    assert not ahead.interrupt(claimed, GONE, silent_for_s=DEAD_AFTER_S)
    assert ahead.claim_next("my-app", "w2", 2) is Claim.NOTHING
    assert behind.skew_s == pytest.approx(-600, abs=30)  # noticed, and only logged

    # Silent for 31 s on the database's clock: every host agrees it is stale.
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE jobs SET heartbeat_at = now() - interval '31 seconds'"))
    assert [job.id for job in ahead.stale(DEAD_AFTER_S)] == [first.id]
    assert [job.id for job in behind.stale(DEAD_AFTER_S)] == [first.id]
    assert ahead.interrupt(claimed, GONE, silent_for_s=DEAD_AFTER_S)
    second = ahead.claim_next("my-app", "w2", 2)
    assert isinstance(second, Job) and second.worker == "w2"


def test_a_claim_that_finds_the_fleet_busy_backs_off_then_leaves_it_to_the_next_dispatch(
    tmp_path: Path, url: str
) -> None:
    asked: list[tuple[int, float | None]] = []

    class Recorded(BusyBackoff):
        def delay(self, retries: int) -> float | None:
            wait = super().delay(retries)
            asked.append((retries, wait))
            return wait

    schedule = Recorded(first_s=1.0, cap_s=8.0, attempts=5, jitter=lambda: 0.999)
    w1 = worker(tmp_path, url, busy=schedule, limit=1)
    w1.store.create("busy", job_fields(app="other-app"))
    assert isinstance(w1.fleet.claim_next("other-app", "w9", 1), Job)  # the fleet's one build
    job, _ = w1.jobs.submit(request())

    w1.take().join(30)  # eagerly applied: Celery runs each retry at once, not after the wait
    w1.stop()

    waits = [wait for _, wait in asked]
    assert [retries for retries, _ in asked] == [0, 1, 2, 3, 4, 5]
    assert waits[:5] == pytest.approx([1.0, 2.0, 4.0, 8.0, 8.0], abs=0.01)  # capped at 8
    assert waits[5] is None  # the 6th refusal ends the task: the next dispatch claims
    stored = w1.store.get(job.id)
    assert stored is not None and stored.state is JobState.QUEUED


def job_fields(app: str = "my-app") -> dict[str, object]:
    return {"app": app, "sha": "1a2b3c4", "version": "1.4.0", "requested_by": "U0ALICE"}
