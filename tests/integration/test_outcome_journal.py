"""An outcome the store refuses is journaled on disk and lands once the store is back, without a
restart (issue #18, Medium 8); on PostgreSQL, made to refuse by a table lock another session holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.adapters.outcome_journal import FileOutcomeJournal
from bot.adapters.slack_directory import StaticDirectory
from bot.adapters.store import SqlJobStore
from bot.domain.access import Access
from bot.domain.models import JobState, PushResult
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import UnsavedOutcome
from bot.runtime.executors import Concurrency, Executors
from bot.runtime.worker import Worker
from bot.services.jobs import JobService
from tests.databases import database
from tests.e2e.harness import wait_until
from tests.fakes import FakeEngine, FakeRegistry, FakeSource, RecordingReporter, app_spec
from tests.unit.test_jobs import request
from tests.unit.test_pipeline import NOW


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with database("postgresql", tmp_path) as found:
        # A write that waits for a lock gives up after 300 ms, as one facing a failover would.
        yield found.replace("options=", "options=-clock_timeout%3D300%20", 1)


# One policy's pools for the module's services (the worker's waiting notices).
NOTICES = Executors(Concurrency())


def service(
    tmp_path: Path, store: SqlJobStore, journal: FileOutcomeJournal, engine: FakeEngine
) -> tuple[JobService, RecordingReporter]:
    reporter = RecordingReporter()
    apps = {"my-app": app_spec()}
    jobs = JobService(
        apps.get,
        lambda: list(apps.values()),
        Access(("S0PLATFORM",), StaticDirectory({"S0APPTEAM": frozenset({"U0ALICE"})})),
        store,
        PushPipeline(FakeSource(tmp_path), engine, FakeRegistry(engine), clock=lambda: NOW),
        reporter,
        queue=lambda runner: Worker(
            runner.run, runner.tell_waiting, NOTICES.pool("notices"), max_parallel=2
        ),
        sleep=lambda _: None,  # the 8 attempts at once: the journal is what is tested
        journal=journal,
    )
    return jobs, reporter


def test_a_refused_outcome_is_journaled_and_lands_when_the_store_returns(
    tmp_path: Path, url: str
) -> None:
    store = SqlJobStore(url)
    path = tmp_path / "work" / "outcomes.journal"
    journal = FileOutcomeJournal(path, store, retry_s=0.2)
    engine = FakeEngine()
    engine.block_build = threading.Event()
    jobs, reporter = service(tmp_path, store, journal, engine)
    jobs.start()
    job, _ = jobs.submit(request())
    assert engine.building.wait(10)

    holder = sa.create_engine(url).connect()
    try:
        holder.execute(sa.text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))  # the store refuses
        engine.block_build.set()
        [told] = reporter.wait_finished(1, timeout=30)  # told from memory at once
        assert told.state is JobState.SUCCEEDED
        [line] = path.read_text().splitlines()
        kept = json.loads(line)
        assert kept["job_id"] == job.id and kept["state"] == "succeeded" and kept["result"]
        assert journal.pending() == [job.id]
    finally:
        holder.rollback()  # the store is back: no restart
        holder.close()
    stored = wait_until(lambda: _ended(store, job.id), timeout=30)
    jobs.stop()
    assert stored.state is JobState.SUCCEEDED and stored.result == told.result
    assert not path.exists() and journal.pending() == []
    assert [finished.id for finished in reporter.finished_jobs] == [job.id]  # told once


def test_a_journal_left_by_a_crash_is_written_at_start_before_recovery_and_only_once(
    tmp_path: Path, url: str
) -> None:
    store = SqlJobStore(url)
    job, _ = store.create("k1", {"app": "my-app", "sha": "1a2b3c4", "requested_by": "U0ALICE"})
    assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    path = tmp_path / "outcomes.journal"
    result = PushResult(("repo:1a2b3c4",), "sha256:" + "a" * 64, 1234, 1.5, "1a2b3c4d")
    outcome = UnsavedOutcome(job.id, JobState.SUCCEEDED, datetime(2026, 1, 2, tzinfo=UTC), result)
    FileOutcomeJournal(path, store).keep(outcome)  # the run before the crash

    journal = FileOutcomeJournal(path, store, retry_s=0.2)
    jobs, _ = service(tmp_path, store, journal, FakeEngine())
    jobs.start()  # replays, then ends what is still running as interrupted
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.SUCCEEDED and stored.result == result
    assert stored.finished_at == datetime(2026, 1, 2, tzinfo=UTC)

    journal.keep(outcome)  # the same outcome again (a replay interrupted before its rewrite)
    wait_until(lambda: not path.exists(), timeout=10)
    jobs.stop()
    again = store.get(job.id)
    assert again == stored  # the conditional write changed nothing the second time


def _ended(store: SqlJobStore, job_id: int) -> object:
    try:
        job = store.get(job_id)
    except sa.exc.OperationalError:
        return None
    return job if job is not None and job.state.finished else None
