"""Locks in the database, on SQLite and PostgreSQL: one per app and environment, kept across
restarts (a new store on the same database) and seen by every process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.lock_store import SqlLockStore
from bot.adapters.store import SqlJobStore
from bot.domain.locks import Lock
from tests.databases import database

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_locks_are_one_per_target_and_survive_a_restart(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        jobs = SqlJobStore(url)
        store = SqlLockStore(jobs.engine, writer=jobs.writer)
        app_lock = Lock("my-app", None, "incident", "U0ALICE", AT)
        prod_lock = Lock("my-app", "prod", "freeze", "U0BOB", AT)
        assert store.take(app_lock) == app_lock
        assert store.take(prod_lock) == prod_lock
        # A second lock on the same target loses to the first, whoever asks.
        assert store.take(Lock("my-app", "prod", "other", "U0CAROL", AT)) == prod_lock

        # Another process (a replica, or the bot after a restart) reads the same locks.
        again = SqlLockStore(SqlJobStore(url).engine)
        assert again.held() == [app_lock, prod_lock]
        assert again.held("other-app") == []
        assert again.release("my-app", "prod") == prod_lock
        assert again.release("my-app", "prod") is None
        assert store.held() == [app_lock]
