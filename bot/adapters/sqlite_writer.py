"""SQLite's one writer, as a thread: every write of the process goes through it, in batches.

SQLite lets one connection write at a time. With each thread writing for itself, a burst of
slash commands queued for that lock one insert at a time, behind the worker's and the Slack
reporter's updates, inside their acknowledgements. Here each thread hands its write to this
thread and waits; the writer runs everything waiting in one transaction (a group commit), so a
burst costs a few commits instead of one per request.

Writes nobody waits for (`submit`: a push accepted in its acknowledgement, stored behind it)
wait in turn for the acknowledgements in flight (`pause`, AckFirst): committed the moment they
were queued, they and what follows them (the job queued, its Slack thread) took the GIL from
the very requests that queued them (issue #19). They wait up to ten times AckFirst's bound
(0.5 s by default), not once it (`defer_for_acks`, the audit writer's wait too): a burst of
pushes lasts a few tenths of a second, and with a commit every 50 ms this thread's inserts and
their follow-ups were about 15 % of the bot's CPU during the burst (bench_ack, per thread),
work that can as well come right after it. The cost: a push accepted during a burst is
committed (and its thread opened) up to 0.5 s later, and a crash in that window loses it, as it
did in the 50 ms before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import sqlalchemy as sa

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 256  # writes per transaction
# Of AckFirst's bound: writes nobody waits for wait up to DEFER times it for the acknowledgements
# in flight, in slices of SLICE times it; a write someone waits for, queued during the wait,
# waits one slice at most (5 ms by default).
DEFER, SLICE = 10.0, 0.1


def defer_for_acks(pause: Callable[[float], None], go_now: Callable[[], bool]) -> None:
    """Wait for the acknowledgements in flight (AckFirst's `pause`), DEFER times its bound at
    most, and no longer once `go_now()` says someone waits for this write."""
    for _ in range(round(DEFER / SLICE)):
        if go_now():
            return
        pause(SLICE)  # returns at once when no request is in flight


class Writer(Protocol):
    """SQLite's one writer thread (`SqliteWriter`), as the stores sharing it see it."""

    def write(self, run: Callable[[sa.Connection], T]) -> T: ...


def in_transaction(
    engine: sa.Engine, writer: Writer | None, run: Callable[[sa.Connection], T]
) -> T:
    """`run` in a write transaction: on SQLite the writer thread's next one, else its own."""
    if writer is not None:
        return writer.write(run)
    with engine.begin() as conn:
        return run(conn)


@dataclass
class _Write(Generic[T]):
    run: Callable[[sa.Connection], T]
    result: T | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    future: Future[T] | None = None

    def settle(self) -> None:
        self.done.set()
        if self.future is not None:
            if self.error is not None:
                self.future.set_exception(self.error)
            else:
                self.future.set_result(self.result)  # type: ignore[arg-type]


class SqliteWriter:
    """`write(fn)` runs fn(connection) in the writer's next transaction and returns its result.

    If the transaction fails (the file locked by another process past the busy timeout, the
    disk full), every write of that batch raises the error, and its caller decides.
    """

    def __init__(
        self, engine: sa.Engine, pause: Callable[[float], None] = lambda _scale: None
    ) -> None:
        self._engine = engine
        self._pause = pause
        self._queue: list[_Write[object]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="ecrbot-sqlite-writer", daemon=True)
        self._thread.start()

    def write(self, run: Callable[[sa.Connection], T]) -> T:
        pending: _Write[T] = _Write(run)
        self._add(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def submit(self, run: Callable[[sa.Connection], T]) -> Future[T]:
        """Queue a write without waiting: the future settles once it is committed (or not)."""
        pending: _Write[T] = _Write(run, future=Future())
        self._add(pending)
        assert pending.future is not None
        return pending.future

    def _add(self, pending: _Write[T]) -> None:
        with self._cond:
            self._queue.append(pending)  # type: ignore[arg-type]
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
            # A thread waiting in write() goes now, with what was queued before it.
            defer_for_acks(self._pause, self._someone_waits)
            with self._cond:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._commit(batch)

    def _someone_waits(self) -> bool:
        with self._cond:
            return any(write.future is None for write in self._queue)

    def _commit(self, batch: list[_Write[object]]) -> None:
        results: list[object] = []
        try:
            with self._engine.begin() as conn:
                results = [write.run(conn) for write in batch]
        except sa.exc.OperationalError as error:  # the database itself: locked, full, gone
            for write in batch:
                write.error = error
                write.settle()
            return
        except BaseException as error:
            if len(batch) > 1:
                # One write's mistake must not fail the others: do them one by one.
                for write in batch:
                    self._commit([write])
                return
            batch[0].error = error
            batch[0].settle()
            return
        for write, result in zip(batch, results, strict=True):
            write.result = result
            write.settle()
