"""The event ledger in the bot's database: a row per handled event id and per answered thread.

An insert that hits the primary key means "seen before", on SQLite and PostgreSQL alike, and
across every replica sharing the database. Old rows are pruned as new ones come: Slack retries
an event for minutes, and a thread older than a week is not asked about again.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.adapters.schema import slack_events, triage_threads

log = logging.getLogger(__name__)

KEEP_EVENTS = timedelta(days=1)
KEEP_THREADS = timedelta(days=30)
PRUNE_EVERY = 500  # inserts between prunes


class SqlEventLedger:
    def __init__(
        self, engine: sa.Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._inserts = itertools.count(1)

    def first_time(self, event_id: str) -> bool:
        return self._insert(
            slack_events.insert().values(event_id=event_id[:64], received_at=self._clock())
        )

    def claim_thread(self, channel: str, thread_ts: str) -> bool:
        row = {"channel": channel[:64], "thread_ts": thread_ts[:32], "answered_at": self._clock()}
        return self._insert(triage_threads.insert().values(**row))

    def _insert(self, statement: sa.Insert) -> bool:
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except IntegrityError:
            return False
        if next(self._inserts) % PRUNE_EVERY == 0:
            self._prune()
        return True

    def _prune(self) -> None:
        now = self._clock()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    slack_events.delete().where(slack_events.c.received_at < now - KEEP_EVENTS)
                )
                connection.execute(
                    triage_threads.delete().where(triage_threads.c.answered_at < now - KEEP_THREADS)
                )
        except sa.exc.SQLAlchemyError as error:  # pruning is housekeeping: try again later
            log.warning("pruning the event ledger: %s", type(error).__name__)


class MemoryEventLedger:
    """The ledger of one process, for a job store that is not SQL (tests, fakes)."""

    def __init__(self) -> None:
        self._events: set[str] = set()
        self._threads: set[tuple[str, str]] = set()
        self._guard = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._guard:
            new = event_id not in self._events
            self._events.add(event_id)
            return new

    def claim_thread(self, channel: str, thread_ts: str) -> bool:
        with self._guard:
            new = (channel, thread_ts) not in self._threads
            self._threads.add((channel, thread_ts))
            return new
