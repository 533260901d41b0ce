"""The job store: SQLAlchemy Core over SQLite (the default) or PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.adapters.sqlite_writer import SqliteWriter
from bot.domain.models import Failure, Job, JobState, PushResult, Step

T = TypeVar("T")

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # What Slack sent (trigger id) or the caller chose: a retried request finds its job again.
    sa.Column("request_key", sa.String(200), nullable=False, unique=True),
    sa.Column("app", sa.String(200), nullable=False, index=True),
    sa.Column("sha", sa.String(40), nullable=False),
    sa.Column("full_sha", sa.String(40)),
    sa.Column("version", sa.String(128)),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("thread_ts", sa.String(32)),
    sa.Column("result", sa.Text),
    sa.Column("failure", sa.Text),
    sa.Column("steps", sa.Text),  # {"build": 3.2, ...}: seconds per pipeline step
    sa.Column("reply_url", sa.String(500)),  # Slack's response_url, to reach the asker
)
# Columns added after the first release, so an existing database gains them at start.
ADDED_COLUMNS = {"steps": "TEXT", "reply_url": "VARCHAR(500)"}


class SqlJobStore:
    """Jobs in one table; state changes are conditional updates, so two threads can't race."""

    def __init__(self, url: str, busy_timeout_ms: int = 5000) -> None:
        sqlite = url.startswith("sqlite")
        self._engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False} if sqlite else {},
            # Bolt's listener threads and the worker share the pool; don't make them queue.
            pool_size=20,
            max_overflow=20,
            pool_pre_ping=not sqlite,
        )
        if sqlite:
            sa.event.listen(self._engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        metadata.create_all(self._engine)
        # SQLite allows one writer: every write goes through one thread, in batches (see
        # sqlite_writer). PostgreSQL takes concurrent writers as they come.
        self._writer = SqliteWriter(self._engine) if sqlite else None
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        present = {c["name"] for c in sa.inspect(self._engine).get_columns("jobs")}

        def add(conn: sa.Connection) -> None:
            for name, kind in ADDED_COLUMNS.items():
                if name not in present:
                    conn.execute(sa.text(f"ALTER TABLE jobs ADD COLUMN {name} {kind}"))

        self._write(add)

    def _write(self, run: Callable[[sa.Connection], T]) -> T:
        """Run `run` in a write transaction (SQLite: the writer thread's next one)."""
        if self._writer is not None:
            return self._writer.write(run)
        with self._engine.begin() as conn:
            return run(conn)

    def ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def create(self, request_key: str, job_fields: dict[str, object]) -> tuple[Job, bool]:
        """Insert a queued job; an existing `request_key` returns that job (created False)."""
        row = {**job_fields, "request_key": request_key, "state": JobState.QUEUED.value}
        row.setdefault("created_at", _now())

        def insert(conn: sa.Connection) -> tuple[Job, bool]:
            query = sa.select(jobs).where(jobs.c.request_key == request_key)
            found = conn.execute(query).mappings().first()  # a retry, maybe in the same batch
            if found is not None:
                return _job(found), False
            inserted = conn.execute(jobs.insert().values(**row).returning(jobs)).mappings()
            return _job(inserted.one()), True

        try:
            return self._write(insert)
        except IntegrityError:  # PostgreSQL: the same key inserted at the same moment elsewhere
            with self._engine.connect() as conn:
                query = sa.select(jobs).where(jobs.c.request_key == request_key)
                return _job(conn.execute(query).mappings().one()), False

    def by_key(self, request_key: str) -> Job | None:
        with self._engine.connect() as conn:
            query = sa.select(jobs).where(jobs.c.request_key == request_key)
            row = conn.execute(query).mappings().first()
        return _job(row) if row else None

    def queued_counts(self) -> dict[str, int]:
        """Queued jobs per app (the queue bounds)."""
        query = (
            sa.select(jobs.c.app, sa.func.count())
            .where(jobs.c.state == JobState.QUEUED.value)
            .group_by(jobs.c.app)
        )
        with self._engine.connect() as conn:
            return {app: int(n) for app, n in conn.execute(query)}

    def get(self, job_id: int) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def recent(self, limit: int = 10) -> list[Job]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit))
            return [_job(row) for row in rows.mappings()]

    def counts(self) -> dict[tuple[str, str], int]:
        """Jobs by (state, app), for the metrics endpoint."""
        query = sa.select(jobs.c.state, jobs.c.app, sa.func.count()).group_by(
            jobs.c.state, jobs.c.app
        )
        with self._engine.connect() as conn:
            return {(state, app): int(n) for state, app, n in conn.execute(query)}

    def since(self, moment: datetime) -> list[Job]:
        """Jobs created at or after `moment`, oldest first (for the health report)."""
        query = sa.select(jobs).where(jobs.c.created_at >= moment).order_by(jobs.c.id)
        with self._engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def in_states(self, *states: JobState) -> list[Job]:
        query = sa.select(jobs).where(jobs.c.state.in_([s.value for s in states]))
        with self._engine.connect() as conn:
            return [_job(row) for row in conn.execute(query.order_by(jobs.c.id)).mappings()]

    def transition(self, job_id: int, to: JobState, *, only_from: tuple[JobState, ...]) -> bool:
        values: dict[str, Any] = {"state": to.value}
        if to is JobState.RUNNING:
            values["started_at"] = _now()
        elif to.finished:
            values["finished_at"] = _now()
        query = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.state.in_([s.value for s in only_from]))
            .values(**values)
        )
        return self._write(lambda conn: conn.execute(query).rowcount == 1)

    def save_thread(self, job_id: int, thread_ts: str) -> None:
        query = jobs.update().where(jobs.c.id == job_id).values(thread_ts=thread_ts)
        self._write(lambda conn: conn.execute(query))

    def finish(
        self,
        job_id: int,
        state: JobState,
        *,
        result: PushResult | None = None,
        failure: Failure | None = None,
        full_sha: str | None = None,
        steps: dict[str, float] | None = None,
    ) -> Job:
        values: dict[str, Any] = {
            "steps": json.dumps(steps) if steps else None,
            "state": state.value,
            "finished_at": _now(),
            "result": json.dumps(asdict(result)) if result else None,
            "failure": json.dumps(asdict(failure)) if failure else None,
        }
        if full_sha:
            values["full_sha"] = full_sha
        query = jobs.update().where(jobs.c.id == job_id).values(**values)
        self._write(lambda conn: conn.execute(query))
        job = self.get(job_id)
        assert job is not None
        return job


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        app=row["app"],
        sha=row["sha"],
        version=row["version"],
        requested_by=row["requested_by"],
        channel=row["channel"],
        state=JobState(row["state"]),
        created_at=_aware(row["created_at"]) or _now(),
        started_at=_aware(row["started_at"]),
        finished_at=_aware(row["finished_at"]),
        thread_ts=row["thread_ts"],
        full_sha=row["full_sha"],
        result=_result(row["result"]),
        failure=_failure(row["failure"]),
        step_durations=json.loads(row["steps"]) if row.get("steps") else {},
        reply_url=row.get("reply_url"),
    )


def _result(text: str | None) -> PushResult | None:
    if not text:
        return None
    data = json.loads(text)
    data["image_uris"] = tuple(data["image_uris"])
    data["warnings"] = tuple(data.get("warnings", ()))
    return PushResult(**data)


def _failure(text: str | None) -> Failure | None:
    if not text:
        return None
    data = json.loads(text)
    data["step"] = Step(data["step"]) if data.get("step") else None
    data["log_tail"] = tuple(data.get("log_tail", ()))
    return Failure(**data)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; every datetime stored here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never wait for the writer, and the writer waits `busy_timeout` for a lock
        # instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL is still safe against corruption and spares an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return on_connect
