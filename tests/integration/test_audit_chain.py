"""The audit log's hash chain on SQLite and PostgreSQL: the writer chains every batch, a row
changed by the database's owner (past the triggers) is named by `ecrbot audit verify`, missing or
disabled triggers are named, 0004 chains the rows already there, and on PostgreSQL the bot's
runtime role (deploy/postgres/runtime-role.sql) can append and read the log and nothing more."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.adapters.audit_integrity import SLICE
from bot.adapters.audit_store import SqlAuditLog
from bot.adapters.schema import audit_log, upgrade
from bot.adapters.store import SqlJobStore
from bot.bootstrap.database import upgrade_database
from bot.config import Settings
from bot.domain.audit import AuditEntry, AuditQuery
from bot.entrypoints.cli import main
from tests.databases import ROOT, database, runtime_url, schema_of

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
GRANTS = ROOT / "deploy/postgres/runtime-role.sql"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def entry(n: int, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "user": "U0ALICE",
        "kind": "command",
        "action": "push",
        "outcome": "ok",
        "app": "my-app",
        "channel": "C0PLATFORM",
        "detail": f"/ecr push my-app {n:07x}",
        "at": NOW + timedelta(seconds=n),
        "job": n,
    }
    values.update(fields)
    return AuditEntry(**values)  # type: ignore[arg-type]


def write(url: str, count: int) -> SqlJobStore:
    """`count` entries through the bot's own writer (SQLite: the job store's writer thread)."""
    store = SqlJobStore(url)
    log = SqlAuditLog(store.engine, writer=store.writer)
    for n in range(count):
        log.record(entry(n))
    log.stop(10)
    return store


def as_owner(url: str, *statements: str) -> None:
    """Run SQL as the database's owner, the triggers set aside: what the chain must catch."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(sa.engine.make_url(url).database or "")) as db:
            db.execute("DROP TRIGGER audit_log_no_update")
            db.execute("DROP TRIGGER audit_log_no_delete")
            for statement in statements:
                db.execute(statement)
            db.commit()
        upgrade_to_recreate_triggers(url)
        return
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        for statement in statements:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def upgrade_to_recreate_triggers(url: str) -> None:
    from bot.adapters.schema import APPEND_ONLY_SQLITE

    with closing(sqlite3.connect(sa.engine.make_url(url).database or "")) as db:
        for statement in APPEND_ONLY_SQLITE:
            db.execute(statement)
        db.commit()


def upgrade_to(url: str, target: str) -> None:
    from alembic import command

    from bot.adapters.schema import alembic_config

    with sa.create_engine(url).begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, target)


def verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["audit", "verify"], settings=lambda: Settings(database_url=url))
    said = capsys.readouterr()
    return status, said.out + said.err


def test_every_batch_is_chained_and_verify_says_intact(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = write(url, 1200)  # several of the writer's batches (500)
    found = SqlAuditLog(store.engine).integrity()
    assert found.intact and found.chain.checked == 1200 and found.chain.head_id == 1200
    status, said = verify(url, capsys)
    assert status == 0 and "intact: 1200 rows, head id 1200 hash " in said
    read = SqlAuditLog(store.engine).entries(AuditQuery(limit=1))
    assert read[0].job == 1199
    # The start's check yields to requests between slices (issue #19), and checks the same.
    paused: list[int] = []
    found = SqlAuditLog(store.engine).integrity(pause=lambda: paused.append(1))
    assert (
        found.intact and found.chain.checked == 1200 and len(paused) == -(-1200 // SLICE)
    )  # one per slice


def test_a_row_changed_by_the_owner_is_named(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    write(url, 10)
    as_owner(url, "UPDATE audit_log SET outcome = 'refused', app = 'other' WHERE id = 7")
    status, said = verify(url, capsys)
    assert status == 1 and "broken at id 7" in said and "contents do not match" in said


def test_a_row_removed_by_the_owner_is_named(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    write(url, 10)
    as_owner(url, "DELETE FROM audit_log WHERE id = 4")
    status, said = verify(url, capsys)
    assert status == 1 and "broken at id 5" in said and "expected id 4" in said


def test_missing_triggers_are_named(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = write(url, 3)
    drop = (
        "DROP TRIGGER audit_log_no_update"
        if url.startswith("sqlite")
        else "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql(drop)
    status, said = verify(url, capsys)
    assert status == 1 and "chain intact" in said
    assert "audit_log_no_update is missing" in said or "audit_log_no_change is disabled" in said


def test_sqlite_refuses_insert_or_replace_on_the_bots_connections(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        store = write(url, 3)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # noqa: SIM117
            with store.engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT OR REPLACE INTO audit_log (id, at, user, kind, action, outcome) "
                    "VALUES (2, '2026-01-01 00:00:00', 'U0X', 'command', 'push', 'ok')"
                )
        # Another connection without the pragma gets through: the chain names the row.
        with closing(sqlite3.connect(sa.engine.make_url(url).database or "")) as raw:
            raw.execute(
                "INSERT OR REPLACE INTO audit_log (id, at, user, kind, action, outcome) "
                "VALUES (2, '2026-01-01 00:00:00', 'U0X', 'command', 'push', 'ok')"
            )
            raw.commit()
        found = SqlAuditLog(store.engine).integrity()
        assert found.chain.broken_at == 2 and "no hash" in str(found.chain.problem)


def test_0004_numbers_and_chains_the_rows_already_there(url: str) -> None:
    upgrade_to(url, "0003")
    engine = sa.create_engine(url)
    old = sa.table(
        "audit_log",
        *(sa.column(n) for n in ("id", "at", "user", "kind", "action", "outcome", "app")),
    )
    with engine.begin() as conn:
        for row_id in (3, 4, 9, 20):  # gaps: a PostgreSQL sequence skips on rollbacks
            conn.execute(
                old.insert().values(
                    id=row_id, at=NOW, user="U0A", kind="command", action="push", outcome="ok"
                )
            )
    upgrade(engine)
    store = SqlJobStore(url)
    log = SqlAuditLog(store.engine, writer=store.writer)
    log.record(entry(1))
    log.stop(10)
    found = log.integrity()
    assert found.intact and found.chain.checked == 5, found.summary()
    with engine.connect() as conn:
        ids = conn.execute(sa.select(audit_log.c.id).order_by(audit_log.c.id)).scalars().all()
    assert ids == [1, 2, 3, 4, 5]
    # The triggers came back after the migration set them aside.
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # noqa: SIM117
        with engine.begin() as conn:
            conn.execute(audit_log.update().values(outcome="error"))


def test_replicas_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    with database("postgresql", tmp_path) as url:
        SqlJobStore(url).engine.dispose()
        logs = [SqlAuditLog(sa.create_engine(url)) for _ in range(3)]

        def append(log: SqlAuditLog, base: int) -> None:
            for n in range(200):
                log.record(entry(base + n))

        threads = [
            threading.Thread(target=append, args=(log, i * 1000)) for i, log in enumerate(logs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for log in logs:
            log.stop(20)
        found = logs[0].integrity()
        assert found.intact and found.chain.checked == 600, found.summary()


# -- PostgreSQL: the runtime role ------------------------------------------------------------


def grant_runtime_role(owner_url: str) -> None:
    """deploy/postgres/runtime-role.sql as written, for the test's schema instead of public."""
    sql = GRANTS.read_text().replace("SCHEMA public", f"SCHEMA {schema_of(owner_url)}")
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    with sa.create_engine(owner_url).begin() as conn:
        for statement in code.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)


REFUSED_TO_THE_RUNTIME_ROLE = [
    "UPDATE audit_log SET outcome = 'ok'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log ALTER COLUMN outcome TYPE text USING 'ok'",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    "DROP TRIGGER audit_log_no_change ON audit_log",
    "DROP TABLE audit_log",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END; $$",
    "CREATE TABLE audit_log_copy (id integer)",
    "ALTER TABLE jobs ADD COLUMN x integer",
]


def test_the_runtime_role_appends_and_reads_and_can_do_nothing_else(tmp_path: Path) -> None:
    with database("postgresql", tmp_path) as owner:
        upgrade_database(Settings(database_url=owner))  # `ecrbot db upgrade`, as the owner
        grant_runtime_role(owner)
        runtime = runtime_url(owner)

        store = SqlJobStore(runtime)  # starts: the schema is current, nothing to create
        job, created = store.create(
            "key-1", {"app": "my-app", "sha": "1a2b3c4", "requested_by": "U0A"}
        )
        assert created
        log = SqlAuditLog(store.engine)
        for n in range(5):
            log.record(entry(n, job=job.id))
        log.stop(10)
        assert log.stats["lost"] == 0
        assert log.integrity().intact and log.count(AuditQuery()) == 5

        for statement in REFUSED_TO_THE_RUNTIME_ROLE:
            with pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner"):  # noqa: SIM117
                with store.engine.begin() as conn:
                    conn.exec_driver_sql(statement)
        assert SqlAuditLog(store.engine).integrity().intact
        store.engine.dispose()
