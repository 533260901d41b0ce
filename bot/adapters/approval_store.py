"""Approvals in the bot's database: one row per request, decided once (a conditional update)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from bot.adapters.schema import approvals
from bot.adapters.sqlite_writer import Writer, in_transaction
from bot.domain.approvals import Approval, ApprovalState

T = TypeVar("T")


class SqlApprovalStore:
    """`ApprovalStore` over the `approvals` table (SQLite: through its one writer)."""

    def __init__(self, engine: sa.Engine, writer: Writer | None = None) -> None:
        self._engine = engine
        self._writer = writer

    def _write(self, run: Callable[[sa.Connection], T]) -> T:
        return in_transaction(self._engine, self._writer, run)

    def add(self, approval: Approval) -> None:
        row = {
            "id": approval.id,
            "app": approval.app,
            "ref": approval.ref,
            "environment": approval.environment,
            "digest": approval.digest,
            "tags": ",".join(approval.tags)[:300],
            "requested_by": approval.requested_by,
            "channel": approval.channel,
            "thread_ts": approval.thread_ts,
            "state": approval.state.value,
            "decided_by": approval.decided_by,
            "created_at": approval.created_at,
            "expires_at": approval.expires_at,
            "gate": None if approval.gate is None else ",".join(approval.gate)[:300],
        }
        self._write(lambda conn: conn.execute(approvals.insert().values(**row)))

    def get(self, approval_id: str) -> Approval | None:
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(approvals).where(approvals.c.id == approval_id)
            ).mappings()
            row = found.first()
        return _approval(row) if row is not None else None

    def settle(self, approval_id: str, state: ApprovalState, by: str | None, at: datetime) -> bool:
        def update(conn: sa.Connection) -> bool:
            done = conn.execute(
                approvals.update()
                .where(approvals.c.id == approval_id, approvals.c.state == ApprovalState.PENDING)
                .values(state=state.value, decided_by=by, decided_at=at)
            )
            return done.rowcount == 1

        return self._write(update)

    def set_thread(self, approval_id: str, channel: str, thread_ts: str) -> None:
        self._write(
            lambda conn: conn.execute(
                approvals.update()
                .where(approvals.c.id == approval_id)
                .values(channel=channel, thread_ts=thread_ts)
            )
        )

    def pending(self, now: datetime, limit: int = 50) -> list[Approval]:
        return self._pending(approvals.c.expires_at > now, limit)

    def due(self, now: datetime, limit: int = 50) -> list[Approval]:
        return self._pending(approvals.c.expires_at <= now, limit)

    def _pending(self, when: sa.ColumnElement[bool], limit: int) -> list[Approval]:
        query = (
            sa.select(approvals)
            .where(approvals.c.state == ApprovalState.PENDING, when)
            .order_by(approvals.c.created_at, approvals.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_approval(row) for row in conn.execute(query).mappings()]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive, stored UTC


def _approval(row: Any) -> Approval:
    return Approval(
        id=row["id"],
        app=row["app"],
        ref=row["ref"],
        environment=row["environment"],
        digest=row["digest"],
        tags=tuple(t for t in row["tags"].split(",") if t),
        requested_by=row["requested_by"],
        channel=row["channel"],
        created_at=_utc(row["created_at"]),
        expires_at=_utc(row["expires_at"]),
        state=ApprovalState(row["state"]),
        thread_ts=row["thread_ts"],
        decided_by=row["decided_by"],
        gate=None if row["gate"] is None else tuple(k for k in row["gate"].split(",") if k),
    )
