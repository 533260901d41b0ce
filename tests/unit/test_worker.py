"""The worker: bounded parallelism, one push per app, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor

import pytest

from bot.domain.cancel import CancelToken
from bot.runtime.executors import Concurrency, Executors
from bot.runtime.worker import Worker


@pytest.fixture
def notices() -> Iterator[Executor]:
    executors = Executors(Concurrency())
    yield executors.pool("notices")
    executors.shutdown()


class Jobs:
    def __init__(self) -> None:
        self.running: set[int] = set()
        self.peak = 0
        self.order: list[int] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.waits: list[tuple[int, int]] = []
        self.done = threading.Semaphore(0)

    def run(self, job_id: int, cancel: CancelToken) -> None:
        with self.lock:
            self.running.add(job_id)
            self.peak = max(self.peak, len(self.running))
            self.order.append(job_id)
        cancel.on_cancel(self.release.set)
        self.release.wait(5)
        with self.lock:
            self.running.discard(job_id)
        self.done.release()

    def waiting(self, job_id: int, behind: int) -> None:
        self.waits.append((job_id, behind))


def wait_for(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_at_most_max_parallel_jobs_run_at_once(notices: Executor) -> None:
    jobs = Jobs()
    worker = Worker(jobs.run, jobs.waiting, notices, max_parallel=2)
    worker.start()
    for job_id, app in enumerate(["a", "b", "c", "d"], start=1):
        worker.enqueue(job_id, app)
    wait_for(lambda: len(jobs.running) == 2)
    wait_for(lambda: worker.settled)  # no thread is left that could still start a job
    assert jobs.peak == 2 and worker.queue_depth == 2
    jobs.release.set()
    for _ in range(4):
        assert jobs.done.acquire(timeout=5)
    worker.stop()


def test_a_second_push_of_the_same_app_waits_and_is_told_so(notices: Executor) -> None:
    jobs = Jobs()
    worker = Worker(jobs.run, jobs.waiting, notices, max_parallel=2)
    worker.start()
    assert worker.enqueue(1, "my-app") is None
    wait_for(lambda: 1 in jobs.running)
    # The caller learns at once whom the job waits behind, and says so in its first message.
    assert worker.enqueue(2, "my-app") == 1
    assert worker.enqueue(3, "other") is None
    wait_for(lambda: 3 in jobs.running)
    wait_for(lambda: worker.settled)  # job 2 could start now if it were allowed to
    assert 2 not in jobs.running
    assert jobs.waits == []  # already told: no second notice
    jobs.release.set()
    for _ in range(3):
        assert jobs.done.acquire(timeout=5)
    assert jobs.order.index(2) > jobs.order.index(1)
    worker.stop()


def test_cancel_dequeues_a_waiting_job_and_signals_a_running_one(notices: Executor) -> None:
    jobs = Jobs()
    worker = Worker(jobs.run, jobs.waiting, notices, max_parallel=1)
    worker.start()
    worker.enqueue(1, "a")
    worker.enqueue(2, "b")
    wait_for(lambda: 1 in jobs.running)
    assert worker.cancel(2) == "dequeued"
    assert worker.cancel(1) == "signalled"
    assert jobs.done.acquire(timeout=5)
    assert worker.cancel(1) is None
    assert jobs.order == [1]
    worker.stop()
