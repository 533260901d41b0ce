"""The job store on SQLite and, when the test services run it, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.adapters.store import SqlJobStore
from bot.domain.models import Failure, JobState, PushResult, Step
from bot.runtime.ack_first import AckFirst
from tests.databases import database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJobStore]:
    with database(request.param, tmp_path) as url:
        yield SqlJobStore(url)


FIELDS: dict[str, object] = {
    "app": "my-app",
    "sha": "1a2b3c4",
    "version": "1.4.0",
    "requested_by": "U0ALICE",
    "channel": "C0PLATFORM",
}


def test_create_is_idempotent_per_request_key(store: SqlJobStore) -> None:
    first, created = store.create("trigger-1", FIELDS)
    again, created_again = store.create("trigger-1", FIELDS)
    assert created and not created_again
    assert first.id == again.id and first.state is JobState.QUEUED


def test_transitions_are_conditional(store: SqlJobStore) -> None:
    job, _ = store.create("k", FIELDS)
    assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    assert not store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    running = store.get(job.id)
    assert running is not None and running.started_at is not None
    assert [j.id for j in store.in_states(JobState.RUNNING)] == [job.id]


def test_results_and_failures_round_trip(store: SqlJobStore) -> None:
    ok, _ = store.create("ok", FIELDS)
    bad, _ = store.create("bad", FIELDS)
    result = PushResult(("h/my-app:abc",), "sha256:1", 10, 1.5, "abc", True, ("w",))
    failure = Failure(Step.BUILD, "t", "e", "f", ("line",), "id1")
    assert store.finish(ok.id, JobState.SUCCEEDED) is None  # only a running job ends
    for job in (ok, bad):
        assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    finished = store.finish(ok.id, JobState.SUCCEEDED, result=result, full_sha="a" * 40)
    assert finished is not None and finished.result == result
    failed = store.finish(bad.id, JobState.FAILED, failure=failure)
    assert failed is not None and failed.failure == failure
    assert store.finish(bad.id, JobState.SUCCEEDED) is None  # once
    store.save_thread(ok.id, "1790000000.000100")
    assert [j.id for j in store.recent(5)] == [bad.id, ok.id]
    reloaded = store.get(ok.id)
    assert reloaded is not None and reloaded.thread_ts == "1790000000.000100"
    assert reloaded.full_sha == "a" * 40


def test_a_job_just_accepted_is_never_read_as_missing(tmp_path: Path) -> None:
    """Accept then read, from several threads at once, on a real SQLite file.

    The insert commits on the writer thread while readers look: a read that asks the database
    first and the in-memory intake second can miss a job committed in between (issue #17).
    """
    with database("sqlite", tmp_path) as url:
        store = SqlJobStore(url)
    threads, per_thread, window = 4, 1000, 50
    misses: list[str] = []
    start = threading.Barrier(threads)

    def hammer(worker: int) -> None:
        start.wait()
        for n in range(per_thread):
            job, created, _ = store.accept(f"hammer-{worker}-{n}", FIELDS)
            assert created
            if store.get(job.id) is None:
                misses.append(f"get({job.id})")
            newest = [j.id for j in store.recent(window)]
            # Missing from the newest `window` only if `window` newer jobs pushed it out.
            if job.id not in newest and not (len(newest) == window and min(newest) > job.id):
                misses.append(f"recent() without {job.id}")

    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            hammer(worker)
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    running = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert errors == []
    assert misses == [], f"{len(misses)} of {threads * per_thread * 2} reads missed: {misses[:5]}"


def test_what_is_stored_behind_an_ack_waits_for_the_acks_in_flight(tmp_path: Path) -> None:
    """SQLite: an accepted job is committed once the requests in flight are answered (or after
    AckFirst's bound), and a write someone waits for is not held back: it goes at once, with
    what was queued before it."""
    acks = AckFirst(max_wait_s=5.0)
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db", pause=acks.pause)
    with acks.request():
        job, created, stored = store.accept("behind-1", FIELDS)
        assert created
        time.sleep(0.3)
        assert not stored.done()  # its request is still in flight
    assert stored.result(timeout=5) == job
    with acks.request():
        job, _, stored = store.accept("behind-2", FIELDS)
        time.sleep(0.1)  # the writer is pausing now
        started = time.monotonic()
        assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
        assert time.monotonic() - started < 2.0  # a slice of the 5 s bound at most
        assert stored.done()


def test_a_push_is_found_behind_many_reuses_by_one_read(store: SqlJobStore) -> None:
    """ecrbot's own push of a commit stays its provenance however often it is reused after:
    past one page of reuses it used to be lost (and the next push was refused), then found by
    parsing every reuse's result on every push. Now it is one indexed read."""
    pushed = PushResult(("h/my-app:abc",), "sha256:" + "a" * 64, 10, 1.5, "abc", True)
    reused = PushResult(("h/my-app:abc",), "sha256:" + "a" * 64, 10, 0.1, "abc", False)
    failed_after = PushResult(("h/my-app:abc",), "sha256:" + "c" * 64, 10, 1.5, "abc", True)
    for index, result in enumerate([pushed] + [reused] * 205):
        job, _ = store.create(f"k{index}", FIELDS)
        assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
        store.finish(job.id, JobState.SUCCEEDED, result=result, full_sha="f" * 40)
    # A job that failed after its push (say, verify) is not provenance.
    job, _ = store.create("failed", FIELDS)
    assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    store.finish(job.id, JobState.FAILED, result=failed_after, full_sha="f" * 40)
    statements: list[str] = []
    sa.event.listen(store._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert store.pushed_digest("my-app", "f" * 40) == pushed.digest
    assert len(statements) == 1
    assert store.last_pushed_digest("my-app") == pushed.digest
    assert store.pushed_digest("my-app", "e" * 40) is None
