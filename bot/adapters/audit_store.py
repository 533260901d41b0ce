"""The audit log in the bot's database, written behind the caller's back.

`record` runs inside Slack's acknowledgement path, so it only appends to a bounded queue in
memory; one daemon thread inserts what waits in batches. A database that is down or locked is
retried with backoff, then the batch is dropped with an error in the log: the audit log must
never fail, or slow, the request it describes. The table refuses UPDATE and DELETE (schema.py),
and every row is chained to the one before it (bot/domain/audit_chain.py): the writer hands out
the ids and hashes inside the insert's transaction, after reading the head. One process writes
a SQLite file (through its one writer thread); PostgreSQL replicas take turns under an advisory
lock held until the transaction ends. The lock, not `SELECT ... FOR UPDATE` of the head: that
needs UPDATE on the table, which the bot's database role must not have.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from bot.adapters import audit_integrity
from bot.adapters.schema import audit_log
from bot.adapters.sqlite_writer import defer_for_acks
from bot.domain.audit import AuditEntry, AuditQuery
from bot.domain.audit_chain import AuditIntegrity, chain

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WAITING = 10_000  # entries kept in memory while the database is slow or down
MAX_BATCH = 500  # rows per insert
ATTEMPTS = 4  # per batch: the first try, then retries after 0.5, 1 and 2 s
WARN_EVERY_S = 10.0  # a full queue is logged at most this often
DETAIL_LIMIT = 1000
REASON_LIMIT = 500
# Column sizes (schema.py): PostgreSQL refuses a longer value, which would lose the whole batch.
LIMITS = {"user": 64, "kind": 32, "action": 64, "app": 200, "channel": 64, "outcome": 32}
LIMITS |= {"detail": DETAIL_LIMIT, "reason": REASON_LIMIT}
CHAIN_LOCK = 4242424243  # PostgreSQL advisory lock: one chain append at a time, fleet-wide
# Characters that reorder text on a terminal or in a spreadsheet ("Trojan Source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class Writer(Protocol):
    """What runs a write transaction: SQLite's one writer thread (sqlite_writer.py)."""

    def write(self, run: Callable[[sa.Connection], T]) -> T: ...


class SqlAuditLog:
    """The audit_log table: appended to from a queue by one thread, read newest first."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        writer: Writer | None = None,
        max_waiting: int = MAX_WAITING,
        backoff_s: float = 0.5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pause: Callable[[float], None] = lambda _scale: None,
    ) -> None:
        # On SQLite, pass the job store's writer: the process's writes share its transactions
        # instead of contending for the file's one write lock. `pause` (AckFirst's): entries are
        # written once the acknowledgements in flight are sent, not between them (issue #19).
        self._pause = pause
        self._flushing = 0  # threads in flush(): they wait, so no pause
        self._engine = engine
        self._writer = writer
        self._max_waiting = max_waiting
        self._backoff_s = backoff_s
        self._clock = clock
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # something to write, or stop
        self._idle = threading.Condition(lock)  # everything recorded so far is settled
        self._waiting: deque[AuditEntry] = deque()
        self._busy = 0  # entries the thread took and has not settled yet
        self._dropped = 0  # refused by a full queue, or recorded after stop
        self._lost = 0  # the database refused them, every attempt
        self._warned_at: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None  # started by the first record

    def record(self, entry: AuditEntry) -> None:
        try:
            if entry.at is None:
                entry = replace(entry, at=self._clock())
            with self._work:
                if len(self._waiting) >= self._max_waiting or self._stopping.is_set():
                    self._dropped += 1
                    warn = self._time_to_warn()
                else:
                    self._waiting.append(entry)
                    self._start()
                    self._work.notify()
                    return
            if warn:
                log.warning(
                    "audit log: %d entries waiting for the database (the most kept), "
                    "%d dropped so far",
                    len(self._waiting),
                    self._dropped,
                )
        except Exception:  # an audit entry is never worth a failed request
            log.exception("audit log: an entry could not be recorded")

    def flush(self, timeout: float = 2.0) -> None:
        with self._idle:
            self._flushing += 1
            try:
                self._idle.wait_for(lambda: not self._waiting and not self._busy, timeout)
            finally:
                self._flushing -= 1

    def stop(self, timeout: float = 5.0) -> None:
        """Write what waits (for at most `timeout` s), then end the thread; later entries drop."""
        self.flush(timeout)
        with self._work:
            self._stopping.set()
            self._work.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._waiting:
            log.error("audit log: stopped with %d entries not written", len(self._waiting))

    @property
    def stats(self) -> dict[str, int]:
        """Entries waiting, dropped (queue full or stopped), and lost (the database refused)."""
        with self._work:
            waiting = len(self._waiting) + self._busy
            return {"waiting": waiting, "dropped": self._dropped, "lost": self._lost}

    def entries(self, query: AuditQuery) -> list[AuditEntry]:
        statement = (
            _where(sa.select(audit_log), query)
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(query.limit)
        )
        with self._engine.connect() as conn:
            return [_entry(row) for row in conn.execute(statement).mappings()]

    def count(self, query: AuditQuery) -> int:
        statement = _where(sa.select(sa.func.count()).select_from(audit_log), query)
        with self._engine.connect() as conn:
            return int(conn.execute(statement).scalar() or 0)

    def integrity(self, pause: Callable[[], None] | None = None) -> AuditIntegrity:
        """The append-only triggers and the hash chain, as the database has them now."""
        return audit_integrity.check(self._engine, pause)

    # -- the writer thread ------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:  # under the lock
            self._thread = threading.Thread(
                target=self._loop, name="ecrbot-audit-writer", daemon=True
            )
            self._thread.start()

    def _time_to_warn(self) -> bool:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            return True
        return False

    def _loop(self) -> None:
        while True:
            with self._work:
                while not self._waiting and not self._stopping.is_set():
                    self._work.wait()
                if not self._waiting:
                    return
            # As SQLite's writer waits (up to 0.5 s); a flush() or stop() waits one slice at most.
            defer_for_acks(self._pause, lambda: self._stopping.is_set() or bool(self._flushing))
            with self._work:
                batch = [self._waiting.popleft() for _ in range(min(MAX_BATCH, len(self._waiting)))]
                self._busy = len(batch)
            try:
                self._write([_row(entry) for entry in batch])
            except Exception:  # the thread must outlive any one batch
                log.exception("audit log: %d entries dropped", len(batch))
                self._count_lost(len(batch))
            with self._idle:
                self._busy = 0
                self._idle.notify_all()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._insert(rows)
                return
            except Exception as error:
                if attempt == ATTEMPTS:
                    break
                log.warning(
                    "audit log: writing %d entries failed (%s), attempt %d of %d",
                    len(rows),
                    _describe(error),
                    attempt,
                    ATTEMPTS,
                )
                if not self._stopping.is_set():  # stopping: try again at once, then give up
                    self._stopping.wait(self._backoff_s * 2 ** (attempt - 1))
        # One bad row must not lose the others: try them one by one, once.
        failed = [row for row in rows if not self._inserted([row])] if len(rows) > 1 else rows
        if failed:
            log.error(
                "audit log: %d of %d entries dropped after %d attempts",
                len(failed),
                len(rows),
                ATTEMPTS,
            )
            self._count_lost(len(failed))

    def _inserted(self, rows: list[dict[str, Any]]) -> bool:
        try:
            self._insert(rows)
            return True
        except Exception as error:
            log.warning("audit log: an entry was refused (%s)", _describe(error))
            return False

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if self._writer is not None:
            self._writer.write(lambda conn: _append(conn, rows))
            return
        with self._engine.begin() as conn:
            _append(conn, rows)

    def _count_lost(self, count: int) -> None:
        with self._work:
            self._lost += count


def _append(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` after the chain's head, in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK)))
    head = conn.execute(
        sa.select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    # A head without a hash (a row ecrbot did not write) is chained from as "": verify names it.
    after = (int(head.id), head.hash or "") if head is not None else None
    conn.execute(audit_log.insert(), chain(after, rows))


def _where(statement: sa.Select[Any], query: AuditQuery) -> sa.Select[Any]:
    if query.app is not None:
        statement = statement.where(audit_log.c.app == query.app)
    if query.user is not None:
        statement = statement.where(audit_log.c.user == query.user)
    if query.since is not None:
        statement = statement.where(audit_log.c.at >= _utc(query.since))
    return statement


def _row(entry: AuditEntry) -> dict[str, Any]:
    values = {
        "user": entry.user,
        "kind": entry.kind,
        "action": entry.action,
        "outcome": entry.outcome,
        "app": entry.app,
        "channel": entry.channel,
        "detail": entry.detail,
        "reason": entry.reason,
    }
    row: dict[str, Any] = {
        name: None if value is None else clean(value, LIMITS[name])
        for name, value in values.items()
    }
    for required in ("user", "kind", "action", "outcome"):
        row[required] = row[required] or "?"
    row["at"] = _utc(entry.at or datetime.now(UTC))
    row["job"] = entry.job
    return row


def clean(value: object, limit: int) -> str:
    """An outside value as one stored line: control and bidi characters out, whitespace and line
    separators as spaces, unpaired surrogates replaced, at most `limit` characters."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
        elif char not in _BIDI and unicodedata.category(char) != "Cc":
            kept.append(char)
    text = "".join(kept).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        user=row["user"],
        kind=row["kind"],
        action=row["action"],
        outcome=row["outcome"],
        app=row["app"],
        channel=row["channel"],
        detail=row["detail"],
        reason=row["reason"],
        at=_utc(row["at"]),
        job=row["job"],
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; every datetime stored here is UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _describe(error: BaseException) -> str:
    """The error's kind and the driver's first line: never SQLAlchemy's text, which repeats the
    statement's parameters (what people typed)."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
