"""The audit log on SQLite and PostgreSQL: written behind the caller, read newest first,
bounded, and append-only in the database itself."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from bot.adapters.audit_store import SqlAuditLog
from bot.adapters.schema import audit_log
from bot.adapters.store import SqlJobStore
from bot.domain.audit import AuditEntry, AuditQuery
from bot.runtime.ack_first import AckFirst
from tests.databases import database

pytestmark = pytest.mark.integration
T = TypeVar("T")
NOW = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


@dataclass
class Database:
    kind: str
    store: SqlJobStore

    def log(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SqlAuditLog:
        """An audit log on the store's engine (and, on SQLite, its one writer), as the bot's."""
        return SqlAuditLog(self.store.engine, writer=self.store.writer, clock=clock)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database(request.param, tmp_path) as url:
        store = SqlJobStore(url)
        yield Database(request.param, store)
        store.engine.dispose()


def entry(n: int, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "user": "U0ALICE",
        "kind": "command",
        "action": "push",
        "outcome": "ok",
        "app": "my-app",
        "channel": "C0PLATFORM",
        "detail": f"push my-app {n:07x}",
        "at": NOW + timedelta(minutes=n),
    }
    values.update(fields)
    return AuditEntry(**values)  # type: ignore[arg-type]


def test_entries_are_written_behind_and_read_newest_first(db: Database) -> None:
    log = db.log()
    started = time.perf_counter()
    for n in range(200):
        log.record(entry(n))
    assert time.perf_counter() - started < 0.5  # no database round trip per entry
    log.flush(10)
    read = log.entries(AuditQuery(limit=1000))
    assert [e.detail for e in read] == [f"push my-app {n:07x}" for n in reversed(range(200))]
    assert read[0] == entry(199)  # every field round-trips, `at` in UTC
    assert log.count(AuditQuery()) == 200
    assert log.stats == {"waiting": 0, "dropped": 0, "lost": 0}


def test_an_entry_without_a_time_is_stamped_when_recorded(db: Database) -> None:
    log = db.log(clock=lambda: NOW)
    log.record(AuditEntry("U0ALICE", "button", "retry", "refused", reason="You may not push."))
    log.flush(10)
    (read,) = log.entries(AuditQuery())
    assert read.at == NOW and read.app is None and read.reason == "You may not push."


def test_filters_by_app_user_and_time_and_limit(db: Database) -> None:
    log = db.log()
    log.record(entry(0))
    log.record(entry(1, app="other"))
    log.record(entry(2, user="U0BOB"))
    log.record(entry(3, user="ecrbot", kind="triage", action="triage_answer", app=None))
    log.record(entry(4))
    log.flush(10)

    def details(query: AuditQuery) -> list[str | None]:
        return [e.detail for e in log.entries(query)]

    assert details(AuditQuery(app="my-app")) == [entry(n).detail for n in (4, 2, 0)]
    assert details(AuditQuery(user="U0BOB")) == [entry(2).detail]
    assert details(AuditQuery(user="ecrbot")) == [entry(3).detail]
    assert details(AuditQuery(since=NOW + timedelta(minutes=3))) == [
        entry(n).detail for n in (4, 3)
    ]
    assert details(AuditQuery(app="my-app", user="U0ALICE", since=NOW + timedelta(seconds=1))) == [
        entry(4).detail
    ]
    assert details(AuditQuery(limit=2)) == [entry(n).detail for n in (4, 3)]
    assert log.count(AuditQuery(app="my-app", limit=1)) == 3  # the count ignores the limit


def test_values_are_bounded_and_control_characters_stripped(db: Database) -> None:
    log = db.log()
    log.record(
        entry(
            0,
            user="U" * 500,
            action="a" * 500,
            app="x" * 5000,
            channel="C\x00" * 100,
            detail="push\x00 my-app\n\x1b[2J" + "d" * 5000,
            reason="bad \u202e\ud800 thing\r\n" + "r" * 5000,
        )
    )
    log.flush(10)
    (read,) = log.entries(AuditQuery())
    assert len(read.user) == 64 and len(read.action) == 64
    assert read.app is not None and len(read.app) == 200
    assert read.channel == "C" * 63 + "…"
    assert read.detail is not None and len(read.detail) == 1000
    assert read.detail.startswith("push my-app [2Jddd") and read.detail.endswith("…")
    assert read.reason is not None and len(read.reason) == 500
    assert read.reason.startswith("bad ? thing  r")
    assert log.stats["lost"] == 0  # PostgreSQL took every value: no NUL, no long varchar


def test_the_table_refuses_update_delete_and_truncate(db: Database) -> None:
    log = db.log()
    log.record(entry(0))
    log.flush(10)
    statements: list[sa.Executable] = [
        audit_log.update().values(outcome="ok", reason=None),
        audit_log.delete(),
        sa.text("DELETE FROM audit_log WHERE 1 = 1"),
    ]
    if db.kind == "postgresql":
        statements.append(sa.text("TRUNCATE audit_log"))
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"):  # noqa: SIM117
            with db.store.engine.begin() as conn:
                conn.execute(statement)
    assert log.entries(AuditQuery()) == [entry(0)]


class FlakyWriter:
    """Fails its first `failures` writes like a locked or unreachable database, then writes."""

    def __init__(self, engine: sa.Engine, failures: int) -> None:
        self.engine = engine
        self.failures = failures
        self.calls = 0

    def write(self, run: Callable[[sa.Connection], T]) -> T:
        self.calls += 1
        if self.calls <= self.failures:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        with self.engine.begin() as conn:
            return run(conn)


def test_a_failing_database_is_retried_then_written(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = FlakyWriter(db.store.engine, failures=2)
    log = SqlAuditLog(db.store.engine, writer=writer, backoff_s=0.01)
    log.record(entry(0, detail="secret-looking words"))
    log.flush(10)
    assert log.entries(AuditQuery()) == [entry(0, detail="secret-looking words")]
    assert writer.calls == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.adapters.audit_store"]
    assert len(warnings) == 2 and "database is locked" in warnings[0]
    assert not any("secret-looking" in message for message in warnings)  # no parameters


def test_a_database_that_never_answers_drops_the_batch_with_an_error(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = FlakyWriter(db.store.engine, failures=10**6)
    log = SqlAuditLog(db.store.engine, writer=writer, backoff_s=0.01)
    for n in range(3):
        log.record(entry(n))
    log.flush(10)
    assert log.stats["lost"] == 3 and log.stats["waiting"] == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "dropped" in errors[-1].getMessage()
    assert log.entries(AuditQuery()) == []
    writer.failures = 0  # the database is back: the log goes on
    log.record(entry(9))
    log.flush(10)
    assert log.entries(AuditQuery()) == [entry(9)]


class BlockedWriter:
    """Holds every write until released: a database that hangs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.release = threading.Event()

    def write(self, run: Callable[[sa.Connection], T]) -> T:
        self.release.wait(30)
        with self.engine.begin() as conn:
            return run(conn)


def test_a_full_queue_drops_entries_without_blocking_and_warns_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = BlockedWriter(db.store.engine)
    log = SqlAuditLog(db.store.engine, writer=writer, max_waiting=5)
    started = time.perf_counter()
    for n in range(101):
        log.record(entry(n))
    assert time.perf_counter() - started < 0.5
    log.flush(0.05)  # the database hangs: flush gives up at its timeout
    stats = log.stats
    # At most 5 waiting, and the batch the writer took before the database hung (5 or fewer).
    assert stats["waiting"] <= 10 and stats["dropped"] >= 91
    assert stats["waiting"] + stats["dropped"] == 101
    full = [r.getMessage() for r in caplog.records if "dropped so far" in r.getMessage()]
    assert len(full) == 1  # a warning, not one per entry
    writer.release.set()
    log.flush(10)
    assert log.count(AuditQuery()) == 101 - stats["dropped"]


def test_stop_writes_what_waits_and_later_entries_are_dropped_not_raised(db: Database) -> None:
    log = db.log()
    for n in range(50):
        log.record(entry(n))
    log.stop(10)
    assert log.count(AuditQuery()) == 50
    log.record(entry(99))
    assert log.stats["dropped"] == 1


def test_another_process_reads_what_the_bot_wrote(db: Database) -> None:
    writer = db.log()
    writer.record(entry(0))
    writer.flush(10)
    reader = SqlAuditLog(db.store.engine)  # as `ecrbot audit` opens it: it only reads
    assert reader.entries(AuditQuery()) == [entry(0)]
    assert reader.stats == {"waiting": 0, "dropped": 0, "lost": 0}


def test_the_bots_services_write_it_on_the_job_stores_database(tmp_path: Path) -> None:
    from bot.bootstrap import build_services
    from bot.config import Settings, load_catalog
    from tests.fakes import FakeEngine, FakeRegistry, RecordingReporter

    settings = Settings(database_url=f"sqlite:///{tmp_path}/bot.db", work_dir=str(tmp_path))
    engine = FakeEngine()
    services = build_services(
        settings,
        catalog=load_catalog(Path(__file__).parents[2] / "ecrbot.example.yml"),
        engine=engine,
        registry=FakeRegistry(engine),
        reporter=RecordingReporter(),
    )
    services.audit.record(entry(0))
    services.stop(0)  # flushes what waits
    assert SqlAuditLog(sa.create_engine(settings.database_url)).entries(AuditQuery()) == [entry(0)]


def test_entries_wait_for_the_acks_in_flight_and_a_flush_does_not(db: Database) -> None:
    acks = AckFirst(max_wait_s=5.0)
    log = SqlAuditLog(db.store.engine, writer=db.store.writer, pause=acks.pause)
    with acks.request():
        log.record(entry(1))
        time.sleep(0.3)
        assert log.entries(AuditQuery()) == []  # a request is in flight: not yet
        started = time.monotonic()
        log.flush(timeout=5.0)  # `/ecr audit` inside its own ack: a slice of the bound at most
        assert time.monotonic() - started < 2.0
        assert [e.detail for e in log.entries(AuditQuery())] == ["push my-app 0000001"]
    log.record(entry(2))
    log.flush(timeout=5.0)
    assert len(log.entries(AuditQuery())) == 2
    log.stop()
