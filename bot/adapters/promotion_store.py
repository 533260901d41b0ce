"""Promotion records in the bot's database, or in memory when it has none (buttons then work
only until a restart, in this process)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from bot.adapters.schema import promotions
from bot.adapters.sqlite_writer import Writer, in_transaction
from bot.domain.promotion_runs import PromotionRun, RunState

T = TypeVar("T")
LISTED = 100  # runs read at once by a sweep or a restart
RECENT = 1000  # runs read at once for a listing (it filters them by who may see them)


class SqlPromotionRunStore:
    """`PromotionRunStore` over the `promotions` table (SQLite: through its one writer)."""

    def __init__(self, engine: sa.Engine, writer: Writer | None = None) -> None:
        self._engine = engine
        self._writer = writer

    def _write(self, run: Callable[[sa.Connection], T]) -> T:
        return in_transaction(self._engine, self._writer, run)

    def add(self, run: PromotionRun) -> None:
        row = {
            "id": run.id,
            "app": run.app,
            "ref": run.ref,
            "environment": run.environment,
            "requested_by": run.requested_by,
            "channel": run.channel,
            "thread_ts": run.thread_ts,
            "state": run.state.value,
            "digest": run.digest,
            "ended_by": run.ended_by,
            "retried_by": run.retried_by,
            "updated_at": run.updated_at,
        }
        self._write(lambda conn: conn.execute(promotions.insert().values(**row)))

    def get(self, run_id: str) -> PromotionRun | None:
        with self._engine.connect() as conn:
            query = sa.select(promotions).where(promotions.c.id == run_id)
            row = conn.execute(query).mappings().first()
        return _run(row) if row is not None else None

    def move(
        self,
        run_id: str,
        state: RunState,
        only_from: tuple[RunState, ...],
        at: datetime,
        by: str | None = None,
        digest: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"state": state.value, "updated_at": at}
        if by is not None:
            values["ended_by"] = by
        if digest is not None:
            values["digest"] = digest
        where = (promotions.c.id == run_id, promotions.c.state.in_([s.value for s in only_from]))

        def update(conn: sa.Connection) -> bool:
            return conn.execute(promotions.update().where(*where).values(**values)).rowcount == 1

        return self._write(update)

    def touch(self, run_id: str, at: datetime) -> None:
        update = promotions.update().where(promotions.c.id == run_id).values(updated_at=at)
        self._write(lambda conn: conn.execute(update))

    def set_thread(self, run_id: str, channel: str, thread_ts: str) -> None:
        update = (
            promotions.update()
            .where(promotions.c.id == run_id)
            .values(channel=channel, thread_ts=thread_ts)
        )
        self._write(lambda conn: conn.execute(update))

    def claim_retry(self, run_id: str, user: str) -> bool:
        update = (
            promotions.update()
            .where(promotions.c.id == run_id, promotions.c.retried_by.is_(None))
            .values(retried_by=user)
        )
        return self._write(lambda conn: conn.execute(update).rowcount == 1)

    def in_state(self, state: RunState, before: datetime | None = None) -> list[PromotionRun]:
        query = sa.select(promotions).where(promotions.c.state == state.value)
        if before is not None:
            query = query.where(promotions.c.updated_at < before)
        query = query.order_by(promotions.c.updated_at, promotions.c.id).limit(LISTED)
        with self._engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).mappings()]

    def last_succeeded(self, app: str, environment: str) -> PromotionRun | None:
        query = (
            sa.select(promotions)
            .where(
                promotions.c.app == app,
                promotions.c.environment == environment,
                promotions.c.state == RunState.SUCCEEDED.value,
            )
            .order_by(promotions.c.updated_at.desc(), promotions.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _run(row) if row is not None else None

    def recent(self, limit: int) -> list[PromotionRun]:
        query = (
            sa.select(promotions)
            .order_by(promotions.c.updated_at.desc(), promotions.c.id.desc())
            .limit(max(0, min(limit, RECENT)))
        )
        with self._engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).mappings()]


class MemoryPromotionRunStore:
    """`PromotionRunStore` in this process's memory (no database: the sandbox, some tests)."""

    def __init__(self, kept: int = 1000) -> None:
        self._runs: dict[str, PromotionRun] = {}
        self._kept = kept
        self._guard = threading.Lock()

    def add(self, run: PromotionRun) -> None:
        with self._guard:
            self._runs[run.id] = run
            while len(self._runs) > self._kept:  # oldest first: dicts keep insertion order
                self._runs.pop(next(iter(self._runs)))

    def get(self, run_id: str) -> PromotionRun | None:
        return self._runs.get(run_id)

    def move(
        self,
        run_id: str,
        state: RunState,
        only_from: tuple[RunState, ...],
        at: datetime,
        by: str | None = None,
        digest: str | None = None,
    ) -> bool:
        with self._guard:
            run = self._runs.get(run_id)
            if run is None or run.state not in only_from:
                return False
            self._runs[run_id] = replace(
                run,
                state=state,
                updated_at=at,
                ended_by=by if by is not None else run.ended_by,
                digest=digest if digest is not None else run.digest,
            )
            return True

    def touch(self, run_id: str, at: datetime) -> None:
        self._update(run_id, updated_at=at)

    def set_thread(self, run_id: str, channel: str, thread_ts: str) -> None:
        self._update(run_id, channel=channel, thread_ts=thread_ts)

    def claim_retry(self, run_id: str, user: str) -> bool:
        with self._guard:
            run = self._runs.get(run_id)
            if run is None or run.retried_by is not None:
                return False
            self._runs[run_id] = replace(run, retried_by=user)
            return True

    def in_state(self, state: RunState, before: datetime | None = None) -> list[PromotionRun]:
        found = [
            run
            for run in list(self._runs.values())
            if run.state is state and (before is None or run.updated_at < before)
        ]
        return sorted(found, key=lambda run: run.updated_at)[:LISTED]

    def last_succeeded(self, app: str, environment: str) -> PromotionRun | None:
        done = [
            run
            for run in list(self._runs.values())
            if (run.app, run.environment, run.state) == (app, environment, RunState.SUCCEEDED)
        ]
        return max(done, key=lambda run: run.updated_at, default=None)

    def recent(self, limit: int) -> list[PromotionRun]:
        runs = sorted(list(self._runs.values()), key=lambda run: (run.updated_at, run.id))
        return runs[::-1][: max(0, min(limit, RECENT))]

    def _update(self, run_id: str, **values: Any) -> None:
        with self._guard:
            run = self._runs.get(run_id)
            if run is not None:
                self._runs[run_id] = replace(run, **values)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive, stored UTC


def _run(row: Any) -> PromotionRun:
    return PromotionRun(
        id=row["id"],
        app=row["app"],
        ref=row["ref"],
        environment=row["environment"],
        requested_by=row["requested_by"],
        channel=row["channel"],
        state=RunState(row["state"]),
        updated_at=_utc(row["updated_at"]),
        thread_ts=row["thread_ts"],
        digest=row["digest"],
        ended_by=row["ended_by"],
        retried_by=row["retried_by"],
    )
