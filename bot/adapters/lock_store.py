"""Locks in the bot's database: one row per (app, environment), shared by every replica."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.adapters.schema import locks
from bot.adapters.sqlite_writer import Writer, in_transaction
from bot.domain.locks import MAX_REASON, Lock

T = TypeVar("T")
WHOLE_APP = ""  # the key column can't be NULL: '' stands for "every environment"


class SqlLockStore:
    """`LockStore` over the `locks` table; the primary key makes a second lock lose cleanly."""

    def __init__(self, engine: sa.Engine, writer: Writer | None = None) -> None:
        self._engine = engine
        self._writer = writer  # on SQLite, the job store's: one writer for the whole file

    def _write(self, run: Callable[[sa.Connection], T]) -> T:
        return in_transaction(self._engine, self._writer, run)

    def take(self, lock: Lock) -> Lock:
        row = {
            "app": lock.app,
            "environment": lock.environment or WHOLE_APP,
            "reason": lock.reason[:MAX_REASON],
            "locked_by": lock.locked_by,
            "locked_at": lock.locked_at,
        }

        def insert(conn: sa.Connection) -> bool:
            # A savepoint: on PostgreSQL a failed insert would poison the whole transaction.
            try:
                with conn.begin_nested():
                    conn.execute(locks.insert().values(**row))
                return True
            except IntegrityError:
                return False

        if self._write(insert):
            return lock
        held = self._one(lock.app, lock.environment)
        return held if held is not None else self.take(lock)  # lifted meanwhile: try again

    def release(self, app: str, environment: str | None) -> Lock | None:
        def delete(conn: sa.Connection) -> Lock | None:
            where = _key(app, environment)
            found = conn.execute(sa.select(locks).where(where)).mappings().first()
            if found is None:
                return None
            conn.execute(locks.delete().where(where))
            return _lock(found)

        return self._write(delete)

    def held(self, app: str | None = None) -> list[Lock]:
        query, values = (HELD, {}) if app is None else (HELD_BY_APP, {"app": app})
        with self._engine.connect() as conn:
            return [_lock(row) for row in conn.execute(query, values).mappings()]

    def _one(self, app: str, environment: str | None) -> Lock | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(locks).where(_key(app, environment))).mappings().first()
        return _lock(row) if row is not None else None


# Built once: a statement built per call is walked and hashed for SQLAlchemy's compiled cache on
# every execution, and `held` runs once a second under a burst of acknowledgements (the snapshot).
HELD = sa.select(locks).order_by(locks.c.locked_at, locks.c.app, locks.c.environment)
HELD_BY_APP = HELD.where(locks.c.app == sa.bindparam("app"))


def _key(app: str, environment: str | None) -> Any:
    return sa.and_(locks.c.app == app, locks.c.environment == (environment or WHOLE_APP))


def _lock(row: Any) -> Lock:
    at = row["locked_at"]
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        at = at.replace(tzinfo=UTC)
    return Lock(row["app"], row["environment"] or None, row["reason"], row["locked_by"], at)
