"""The embedded worker: a bounded pool of build threads, one push per app at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from bot.domain.cancel import CancelToken

log = logging.getLogger(__name__)

RunJob = Callable[[int, CancelToken], None]
OnWaiting = Callable[[int, int], None]


@dataclass
class _Pending:
    job_id: int
    app: str
    told_waiting: bool = False


class Worker:
    """Runs jobs off Bolt's listener threads; owns concurrency limits and per-app locks.

    The queue is kept per app (in job order), so what the acknowledgement of a slash command
    asks of it (enqueue, the queue bounds) costs the same with 1 job waiting or 1,000.
    """

    runs_here = True

    def __init__(
        self,
        run_job: RunJob,
        on_waiting: OnWaiting,
        notices: Executor,
        max_parallel: int = 2,
    ) -> None:
        self._run_job = run_job
        self._on_waiting = on_waiting
        self._max_parallel = max_parallel
        self._cond = threading.Condition()
        self._pending: dict[str, dict[int, _Pending]] = {}  # app -> job id -> job, in order
        self._running: dict[int, tuple[str, CancelToken]] = {}
        self._busy: dict[str, int] = {}  # app -> the job of it running now
        self._threads: list[threading.Thread] = []
        self._asleep = 0  # threads waiting for a job they may start
        self._stopping = False
        # "Waiting behind job N" notices are told from here, never on the enqueuing thread:
        # enqueue runs inside a slash command's acknowledgement and must stay cheap.
        # The pool is the process's `notices` one (bot.runtime.executors).
        self._notices = notices

    def start(self) -> None:
        for index in range(self._max_parallel):
            thread = threading.Thread(target=self._loop, name=f"ecrbot-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs and cancel the running ones."""
        self.drain(0.0)
        with self._cond:
            tokens = [token for _, token in self._running.values()]
        for token in tokens:
            token.cancel()
        for thread in self._threads:
            thread.join(timeout)

    def drain(self, grace_s: float) -> list[int]:
        """Start no more jobs (queued ones stay queued for the next start) and give the running
        ones `grace_s` seconds to finish; returns the ids still running after that."""
        deadline = time.monotonic() + grace_s
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return list(self._running)

    def enqueue(self, job_id: int, app: str) -> int | None:
        """Queue a job; returns the job of the same app it waits behind, if any.

        The caller tells the waiting in its first message, so it costs no extra Slack edit.
        """
        with self._cond:
            queue = self._pending.setdefault(app, {})
            if job_id in queue or job_id in self._running:
                return None
            ahead = [job for job in (next(reversed(queue), None), self._busy.get(app)) if job]
            blocker = max(ahead) if ahead else None
            queue[job_id] = _Pending(job_id, app, told_waiting=blocker is not None)
            if app not in self._busy:  # else no thread could take it yet: let them sleep
                self._cond.notify()
        return blocker

    def cancel(self, job_id: int) -> str | None:
        """Cancel a job: 'dequeued' if it had not started, 'signalled' if running, else None."""
        with self._cond:
            for queue in self._pending.values():
                if queue.pop(job_id, None) is not None:
                    return "dequeued"
            running = self._running.get(job_id)
        if running is None:
            return None
        running[1].cancel()
        return "signalled"

    @property
    def alive(self) -> bool:
        """Started, not stopping, and every pool thread still running."""
        with self._cond:
            stopping = self._stopping
        return bool(self._threads) and not stopping and all(t.is_alive() for t in self._threads)

    @property
    def settled(self) -> bool:
        """Every thread runs a job or sleeps with nothing it may start, so what runs now is all
        that runs until a job ends or is queued: what a test waits for to show that a job did
        not start, instead of sleeping and hoping."""
        with self._cond:
            busy = len(self._running)
            if busy + self._asleep != len(self._threads):
                return False  # a thread between jobs, or not yet in its loop
            return self._asleep == 0 or self._next() is None

    @property
    def heartbeat_at(self) -> float | None:
        """Now while every pool thread runs: they wait on a condition, so being alive is the
        beat (a dead thread makes the gauge vanish and the heartbeat alert fire)."""
        return time.time() if self.alive else None

    @property
    def queue_depth(self) -> int:
        with self._cond:
            return sum(len(queue) for queue in self._pending.values())

    def waiting(self) -> dict[str, int]:
        """Jobs waiting to start, per app (what the queue bounds count)."""
        with self._cond:
            return {app: len(queue) for app, queue in self._pending.items() if queue}

    def running_app(self, app: str) -> int | None:
        with self._cond:
            return self._busy.get(app)

    def _loop(self) -> None:
        while True:
            with self._cond:
                picked = self._next()
                while picked is None and not self._stopping:
                    self._asleep += 1
                    try:
                        self._cond.wait()
                    finally:
                        self._asleep -= 1
                    picked = self._next()
                if self._stopping:
                    return
                assert picked is not None
                token = CancelToken()
                del self._pending[picked.app][picked.job_id]
                self._running[picked.job_id] = (picked.app, token)
                self._busy[picked.app] = picked.job_id
                notices = self._waits_behind(picked)
            self._tell(notices)
            try:
                self._run_job(picked.job_id, token)
            except Exception:  # the runner records failures; this only keeps the thread alive
                log.exception("job %s crashed the runner", picked.job_id)
            finally:
                with self._cond:
                    self._running.pop(picked.job_id, None)
                    self._busy.pop(picked.app, None)
                    self._cond.notify_all()

    def _next(self) -> _Pending | None:
        """The oldest waiting job of an app that has nothing running."""
        heads = (
            next(iter(queue.values()))
            for app, queue in self._pending.items()
            if queue and app not in self._busy
        )
        return min(heads, key=lambda pending: pending.job_id, default=None)

    def _waits_behind(self, started: _Pending) -> list[tuple[int, int]]:
        """Jobs of the app that just started which were queued while it was idle: each is told
        once that it waits (the rest were told when they were queued)."""
        notices = []
        for pending in self._pending.get(started.app, {}).values():
            if pending.told_waiting:
                break  # every job queued after a told one was told too
            pending.told_waiting = True
            notices.append((pending.job_id, started.job_id))
        return notices

    def _tell(self, notices: list[tuple[int, int]]) -> None:
        for job_id, blocker in notices:
            self._notices.submit(self._tell_waiting, job_id, blocker)

    def _tell_waiting(self, job_id: int, blocker: int) -> None:
        try:
            self._on_waiting(job_id, blocker)
        except Exception:  # a notice is best effort; the job runs regardless
            log.exception("telling job %s it waits failed", job_id)
