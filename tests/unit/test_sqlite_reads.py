"""`ecrbot promote`'s sqlite3 reader (no SQLAlchemy) reads what the SQLAlchemy stores read: the
same locks, the same pushed tags, the same table names; it reads only a database at head, and a
lock it reads refuses a promotion through the same LockService."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.adapters import schema, table_names
from bot.adapters.lock_store import SqlLockStore
from bot.adapters.sqlite_reads import SqliteReads, sqlite_path
from bot.adapters.store import SqlJobStore
from bot.bootstrap.cli import _sqlite_reads
from bot.domain.access import Access
from bot.domain.locks import Lock, Locked
from bot.domain.models import PushResult
from bot.domain.promotion import pushed_tags
from bot.services.locks import LockService
from tests.unit.test_locks import APP, GROUPS

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@pytest.fixture
def store(tmp_path: Path) -> SqlJobStore:
    return SqlJobStore(f"sqlite:///{tmp_path}/ecrbot.db")


def _job(app: str, n: int, state: str, digest: str, tags: tuple[str, ...]) -> dict[str, object]:
    uris = tuple(f"1.dkr.ecr.eu-west-2.amazonaws.com/{app}:{tag}" for tag in tags)
    result = PushResult(uris, digest, 1, 1.0, "r")
    return {
        "request_key": f"k{n}", "app": app, "sha": "abc1234", "requested_by": "U1",
        "state": state, "created_at": datetime.now(UTC), "result": json.dumps(asdict(result)),
    }  # fmt: skip


def test_the_names_it_reads_are_the_schemas() -> None:
    assert schema.locks.name == table_names.LOCKS
    assert tuple(c.name for c in schema.locks.c) == table_names.LOCK_COLUMNS
    assert schema.jobs.name == table_names.JOBS
    assert set(table_names.JOB_COLUMNS) <= {c.name for c in schema.jobs.c}


def test_locks_and_pushed_tags_read_as_the_sqlalchemy_stores_do(
    store: SqlJobStore, tmp_path: Path
) -> None:
    locks = SqlLockStore(store.engine)
    at = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
    locks.take(Lock("web", None, "freeze", "U1", at))
    locks.take(Lock("web", "prod", "release", "U2", at))
    locks.take(Lock("api", "prod", "other app", "U3", at))
    with store.engine.begin() as conn:
        conn.execute(sa.insert(schema.jobs), [
            _job("web", 1, "succeeded", DIGEST, ("abc1234", "1.0.0", "latest")),
            _job("web", 2, "failed", OTHER, ("def5678",)),
            _job("api", 3, "succeeded", OTHER, ("0123456", "2.0.0")),
        ])  # fmt: skip
    reads = SqliteReads(tmp_path / "ecrbot.db")
    assert reads.current()
    assert reads.held("web") == locks.held("web") and len(reads.held("web")) == 2
    assert reads.held() == locks.held()
    for app, digest in (("web", DIGEST), ("web", OTHER), ("api", OTHER), ("nope", DIGEST)):
        assert reads.pushed(app, digest) == pushed_tags(store.recent(500), app, digest)
    assert reads.pushed("web", DIGEST) == ("abc1234", "1.0.0")
    with pytest.raises(PermissionError):
        reads.take(Lock("web", "qa", "x", "U1", at))


def test_a_lock_it_reads_refuses_the_promotion(store: SqlJobStore, tmp_path: Path) -> None:
    at = datetime.now(UTC)
    SqlLockStore(store.engine).take(Lock("my-app", "prod", "freeze", "U0BOB", at))
    reads = SqliteReads(tmp_path / "ecrbot.db")
    apps = {"my-app": APP}
    access = Access(("S0PLATFORM",), GROUPS)
    service = LockService(apps.get, lambda: list(apps.values()), access, reads)
    with pytest.raises(Locked, match="freeze"):
        service.check("my-app", "prod", "Promotions of my-app to prod")
    service.check("my-app", "staging", "Promotions of my-app to staging")  # not locked


def test_only_a_database_at_head_is_read(store: SqlJobStore, tmp_path: Path) -> None:
    path = tmp_path / "ecrbot.db"
    assert not SqliteReads(path, head=lambda: "9999").current()  # a newer or older schema
    assert not SqliteReads(path, head=lambda: None).current()  # migrations Alembic must read
    assert not SqliteReads(tmp_path / "none.db").current()  # no such file: nothing created
    assert not (tmp_path / "none.db").exists()
    url = f"sqlite:///{path}"
    assert _sqlite_reads(url) is not None
    assert _sqlite_reads("postgresql+psycopg://u:p@h/db") is None
    assert _sqlite_reads(f"sqlite:///{tmp_path}/none.db") is None


def test_plain_sqlite_urls_only() -> None:
    assert sqlite_path("sqlite:///var/ecrbot.db") == Path("var/ecrbot.db")
    assert sqlite_path("sqlite:////srv/ecrbot.db") == Path("/srv/ecrbot.db")
    assert sqlite_path("sqlite+pysqlite:///x.db") == Path("x.db")
    for other in ("sqlite://", "sqlite:///:memory:", "sqlite:///x.db?mode=ro",
                  "postgresql://h/db", ""):  # fmt: skip
        assert sqlite_path(other) is None
