"""The scaled-out job queue: Celery carries "an app has work", the shared database decides.

A push is stored as a queued job (the source of truth), then a `ecrbot.dispatch(app)` task goes
to the app's Celery queue. The worker that takes it claims the app's oldest queued job in one
database transaction (`Fleet.claim_next`; `adapters/fleet.py` is the SQL one, bootstrap hands it
in), which is where one push per app and the fleet-wide build limit hold. So a duplicated,
retried or redelivered task claims nothing twice, and per-app order is the jobs' order whatever
order tasks arrive in.

Dead workers: a running job's worker writes a heartbeat every HEARTBEAT_S (stamped with the
database's clock). Any replica or worker that finds a running job silent for DEAD_AFTER_S marks
it `interrupted` (its thread is told, with the Retry button), then dispatches the app's next
job. A worker that was only slow learns from its next heartbeat that the job is no longer its
own and stops it; the pipeline re-reads ownership before it pushes, and the outcome write is
conditional on ownership, so a lost job never pushes after the fact nor ends "succeeded".
An interrupted job is not re-run by itself: its build or push stopped part-way on an engine
that is gone, and a person decides whether to push again. Tasks are acknowledged late
(`task_acks_late`), so a task a dead worker held is redelivered (Redis: after the visibility
timeout) and finds nothing left to claim.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery, Task

from bot.config import DEFAULT_QUEUE
from bot.domain.cancel import CancelToken, Stop
from bot.domain.fleet import Claim, Fleet, Ownership
from bot.domain.models import Failure, Job
from bot.domain.ports import JobRunner

log = logging.getLogger(__name__)

DISPATCH = "ecrbot.dispatch"
HEARTBEAT_S = 1.0  # also how soon a cancel reaches a running build
DEAD_AFTER_S = 30.0
REAP_EVERY_S = 5.0


@dataclass(frozen=True)
class BusyBackoff:
    """When a claim that found the fleet at its limit tries again: exponential from `first_s`
    to `cap_s` with full jitter (so refused claims don't come back in step), at most
    `attempts` times. After that the task ends: a finishing job dispatches its app again, and
    every process dispatches the apps with queued jobs when it starts."""

    first_s: float = 1.0
    cap_s: float = 30.0
    attempts: int = 12
    jitter: Callable[[], float] = random.random  # in [0, 1)

    def delay(self, retries: int) -> float | None:
        """Seconds before retry number `retries + 1`, or None to give up."""
        if retries >= self.attempts:
            return None
        ceiling = min(self.cap_s, self.first_s * 2**retries)
        return float(max(self.first_s / 2, ceiling * self.jitter()))


def celery_app(broker_url: str) -> Celery:
    app = Celery("ecrbot", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # A build outlasting this is redelivered to another worker, which claims nothing.
        broker_transport_options={"visibility_timeout": 3 * 3600},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
    )
    return app


class CeleryQueue:
    """The JobQueue of every process of a scaled-out setup: bot replicas send and reap,
    `ecrbot worker` processes also run (`serve_tasks`)."""

    runs_here = False

    def __init__(
        self,
        runner: JobRunner,
        app: Celery,
        fleet: Fleet,
        queue_of: Callable[[str], str | None],
        limit: int,
        worker_name: str | None = None,
        busy: BusyBackoff = BusyBackoff(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runner = runner
        self._celery = app
        self._fleet = fleet
        self._queue_of = queue_of
        self._limit = limit
        self.name = worker_name or f"ecrbot@{socket.gethostname()}"
        self._busy = busy
        self._monotonic = monotonic
        self._last_beat = monotonic()  # the last heartbeat the database took
        self._running: dict[int, CancelToken] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._beat_at: float | None = None  # set by the heartbeat loop of `ecrbot worker` only

    # The JobQueue side, in every process.
    def start(self) -> None:
        for app in self._fleet.waiting():  # queued while no task could be sent (broker down)
            self.dispatch(app)
        self._spawn("reaper", self._reap_loop)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._guard:
            tokens = list(self._running.values())
        for token in tokens:
            token.cancel()

    def drain(self, grace_s: float) -> list[int]:
        return []  # Celery's warm shutdown lets a worker's running tasks finish

    def enqueue(self, job_id: int, app: str) -> int | None:
        blocker = self._fleet.blocker(job_id, app)
        self.dispatch(app)
        return blocker

    def cancel(self, job_id: int) -> str | None:
        # Running anywhere: the worker's next heartbeat sees the request and stops the build.
        return "signalled" if self._fleet.request_cancel(job_id) else None

    def waiting(self) -> dict[str, int]:
        return self._fleet.waiting()

    @property
    def alive(self) -> bool:
        return not self._stopping.is_set() and all(t.is_alive() for t in self._threads)

    @property
    def queue_depth(self) -> int:
        return sum(self.waiting().values())

    @property
    def heartbeat_at(self) -> float | None:
        """The last heartbeat the database took; None in a bot replica (it runs no jobs)."""
        return self._beat_at

    def dispatch(self, app: str) -> None:
        queue = self._queue_of(app) or DEFAULT_QUEUE
        self._celery.send_task(DISPATCH, args=[app], queue=queue)

    # The worker side.
    @property
    def celery(self) -> Celery:
        return self._celery

    def serve_tasks(self) -> None:
        """Make this process a worker (`ecrbot worker`, before start()): end the jobs a
        previous run under this name left running, beat for running jobs, take tasks."""
        # Outcomes journaled by an earlier run first: those jobs are still `running` on us.
        self._runner.settle_unsaved()
        for job in self._fleet.mine_running(self.name):
            self._end_orphan(job, "restarted while building it")
        self._spawn("heartbeat", self._heartbeat_loop)

        def dispatch(task: Task, app: str) -> None:
            self._take(task, app)

        # Not shared: Celery would hand this closure to every Celery app made later in the
        # process (tests make one per worker), each bound to its own fleet.
        self._celery.task(name=DISPATCH, bind=True, max_retries=None, shared=False)(dispatch)

    def _take(self, task: Task, app: str) -> None:
        claimed = self._fleet.claim_next(app, self.name, self._limit)
        if claimed is Claim.FLEET_BUSY:
            retries = int(task.request.retries or 0)
            delay = self._busy.delay(retries)
            if delay is None:
                log.info(
                    "%s: the fleet stayed busy for %d tries; the next dispatch claims", app, retries
                )
                return
            raise task.retry(countdown=delay, max_retries=self._busy.attempts)
        if isinstance(claimed, Claim):
            return
        token = CancelToken()
        job_id = claimed.id
        token.add_check(lambda: self._still_mine(job_id))
        with self._guard:
            self._running[claimed.id] = token
        try:
            self._runner.run_claimed(claimed.id, token, self.name)
        finally:
            with self._guard:
                self._running.pop(claimed.id, None)
            self.dispatch(app)  # the app's next job, if any

    def _spawn(self, name: str, loop: Callable[[], None]) -> None:
        thread = threading.Thread(target=loop, name=f"ecrbot-fleet-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _still_mine(self, job_id: int) -> Stop | None:
        """The pipeline's checkpoint before it writes to the registry: re-read ownership."""
        try:
            owned = self._fleet.ownership(job_id, self.name)
        except Exception:
            # Unreadable is not lost, but past half the reaper's patience since the last beat
            # the database took, another process may already have ended the job.
            silent = self._monotonic() - self._last_beat
            if silent < DEAD_AFTER_S / 2:
                return None
            log.warning("job %s: ownership unreadable for %.0f s, stopping it", job_id, silent)
            return Stop.INTERRUPT
        if owned is Ownership.LOST:
            log.warning("job %s is no longer this worker's: stopping before the push", job_id)
            return Stop.INTERRUPT
        return Stop.CANCEL if owned is Ownership.CANCEL_REQUESTED else None

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(HEARTBEAT_S):
            self.beat()

    def beat(self) -> None:
        """One heartbeat: keep this worker's jobs alive, stop those cancelled or lost."""
        with self._guard:
            running = dict(self._running)
        # Jobs whose outcome waits in the journal are still running in the store: keep them
        # alive too, so that no reaper ends them before the journal is written.
        ids = list(running) + [i for i in self._runner.unsaved() if i not in running]
        started = self._monotonic()
        try:
            beat = self._fleet.heartbeat(self.name, ids)
        except Exception:  # the database is away: the next beat tries again
            log.warning("heartbeat failed", exc_info=True)
            return
        self._last_beat = started
        self._beat_at = time.time()  # the gauge the heartbeat alerts read
        for job_id in beat.to_stop:
            token = running.get(job_id)
            if token is None:
                continue
            if job_id in beat.lost:
                log.warning(
                    "job %s is no longer this worker's (reaped or ended): stopping it", job_id
                )
                token.cancel(interrupt=True)
            else:
                log.info("job %s: cancel requested, stopping it", job_id)
                token.cancel()

    def _reap_loop(self) -> None:
        while not self._stopping.wait(REAP_EVERY_S):
            try:
                for job in self._fleet.stale(DEAD_AFTER_S):
                    self._end_orphan(job, f"stopped answering for {DEAD_AFTER_S:.0f} s")
            except Exception:
                log.warning("looking for dead workers failed", exc_info=True)

    def _end_orphan(self, job: Job, what: str) -> None:
        worker = job.worker or "its worker"
        failure = Failure(
            None,
            "The worker building it stopped",
            f"{worker} {what}; the push did not finish.",
            "Press Retry to push again; `ecrbot jobs` shows where jobs run.",
        )
        silent = 0.0 if job.worker == self.name else DEAD_AFTER_S
        if self._fleet.interrupt(job, failure, silent_for_s=silent):
            log.warning("job %s interrupted: %s %s", job.id, worker, what)
            self._runner.tell_finished(job.id)
            self.dispatch(job.app)
