"""The job store: SQLAlchemy Core over SQLite (the default) or PostgreSQL."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.adapters import job_statements as statements
from bot.adapters.schema import jobs, require_current
from bot.adapters.sqlite_writer import SqliteWriter, in_transaction
from bot.adapters.table_names import parse_result as parse_result  # re-exported
from bot.domain.models import Failure, Job, JobState, PushResult, Step

log = logging.getLogger(__name__)
T = TypeVar("T")
REMEMBERED_KEYS = 10_000  # request keys kept in memory to answer Slack's retries at once
INTAKE_ATTEMPTS = 8  # an accepted job's insert, retried while the database is locked or full
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class SqlJobStore:
    """Jobs in one table; state changes are conditional updates, so two threads can't race."""

    def __init__(
        self,
        url: str,
        busy_timeout_ms: int = 5000,
        intake_backoff_s: float = 0.25,
        pause: Callable[[float], None] = lambda _scale: None,
    ) -> None:
        self._intake_backoff = intake_backoff_s
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
        require_current(self._engine)
        # SQLite allows one writer: every write goes through one thread, in batches (see
        # sqlite_writer). PostgreSQL takes concurrent writers as they come.
        # `pause` (AckFirst's): what is stored behind an acknowledgement waits for it.
        self._writer = SqliteWriter(self._engine, pause) if sqlite else None
        # Jobs accepted but maybe not committed yet (SQLite), by request key and by id; ids are
        # handed out here, since this process is the database's only writer.
        self._intake = threading.Lock()
        self._accepted: OrderedDict[str, Job] = OrderedDict()
        self._uncommitted: dict[int, Job] = {}
        self._last_id: int | None = None
        if sqlite:
            self._remember_recent()

    def _write(self, run: Callable[[sa.Connection], T]) -> T:
        """Run `run` in a write transaction (SQLite: the writer thread's next one)."""
        return in_transaction(self._engine, self._writer, run)

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def writer(self) -> SqliteWriter | None:
        """SQLite's one writer thread, for the process's other writes (the audit log); None on
        PostgreSQL, which takes concurrent writers."""
        return self._writer

    def ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def accept(
        self, request_key: str, job_fields: dict[str, object]
    ) -> tuple[Job, bool, Future[Job]]:
        """Take a new queued job without waiting for the disk: its id is handed out now, the
        future settles once it is committed (SQLite's writer retries for about a minute). A
        known `request_key` gives its job (created False). On PostgreSQL this is create()."""
        if self._writer is None:
            job, created = self.create(request_key, job_fields)
            return job, created, _settled(job)
        with self._intake:
            known = self._accepted.get(request_key)  # memory only: the ack reads no disk
            if known is not None:
                return known, False, _settled(known)
            job_id = self._allocate_id()
            row = {**job_fields, "id": job_id, "request_key": request_key}
            row.update(state=JobState.QUEUED.value, created_at=row.get("created_at") or _now())
            job = job_from_row({**{c.name: None for c in jobs.columns}, **row})
            self._accepted[request_key] = self._uncommitted[job_id] = job
            while len(self._accepted) > REMEMBERED_KEYS:
                self._accepted.popitem(last=False)
        stored: Future[Job] = Future()
        self._insert_behind(job, row, stored, attempt=1)
        return job, True, stored

    def _allocate_id(self) -> int:
        assert self._last_id is not None  # read at start (SQLite)
        self._last_id += 1
        return self._last_id

    def _remember_recent(self) -> None:
        """The last id, and the request keys of the last day, so that Slack's retries of a
        request made before a restart still find their job without a read per request."""
        since = _now() - timedelta(days=1)
        with self._engine.connect() as conn:
            self._last_id = int(conn.execute(sa.select(sa.func.max(jobs.c.id))).scalar() or 0)
            query = (
                sa.select(jobs)
                .where(jobs.c.created_at >= since)
                .order_by(jobs.c.id.desc())
                .limit(REMEMBERED_KEYS)
            )
            rows = list(conn.execute(query).mappings())
        for row in reversed(rows):  # oldest first, as the LRU keeps them
            self._accepted[str(row["request_key"])] = job_from_row(row)

    def _insert_behind(
        self, job: Job, row: dict[str, object], stored: Future[Job], attempt: int
    ) -> None:
        assert self._writer is not None
        written = self._writer.submit(lambda conn: conn.execute(statements.INSERT, row))

        def settled(written: Future[Any]) -> None:
            error = written.exception()
            if error is None:
                with self._intake:
                    self._uncommitted.pop(job.id, None)
                stored.set_result(job)
            elif isinstance(error, IntegrityError):  # the key was stored by a run before ours
                log.warning("job %s repeats request %s, stored earlier", job.id, row["request_key"])
                with self._intake:
                    self._uncommitted.pop(job.id, None)
                stored.set_exception(error)
            elif isinstance(error, OperationalError) and attempt < INTAKE_ATTEMPTS:
                wait = min(self._intake_backoff * 2**attempt, 15.0)  # locked or full: again
                retry = threading.Timer(wait, self._insert_behind, (job, row, stored, attempt + 1))
                retry.daemon = True
                retry.start()
            else:
                with self._intake:
                    self._uncommitted.pop(job.id, None)
                stored.set_exception(error)

        written.add_done_callback(settled)

    def create(self, request_key: str, job_fields: dict[str, object]) -> tuple[Job, bool]:
        """Insert a queued job; an existing `request_key` returns that job (created False)."""
        if self._writer is not None:  # one way to hand out ids on SQLite: accept's
            _, created, stored = self.accept(request_key, job_fields)
            return stored.result(), created
        row = {**job_fields, "request_key": request_key, "state": JobState.QUEUED.value}
        row.setdefault("created_at", _now())

        def insert(conn: sa.Connection) -> tuple[Job, bool]:
            query = sa.select(jobs).where(jobs.c.request_key == request_key)
            found = conn.execute(query).mappings().first()  # a retry, maybe in the same batch
            if found is not None:
                return job_from_row(found), False
            inserted = conn.execute(jobs.insert().values(**row).returning(jobs)).mappings()
            return job_from_row(inserted.one()), True

        try:
            return self._write(insert)
        except IntegrityError:  # PostgreSQL: the same key inserted at the same moment elsewhere
            with self._engine.connect() as conn:
                query = sa.select(jobs).where(jobs.c.request_key == request_key)
                return job_from_row(conn.execute(query).mappings().one()), False

    def by_key(self, request_key: str) -> Job | None:
        with self._intake:
            accepted = self._accepted.get(request_key)
        if accepted is not None:
            return self.get(accepted.id) or accepted
        with self._engine.connect() as conn:
            query = sa.select(jobs).where(jobs.c.request_key == request_key)
            row = conn.execute(query).mappings().first()
        return job_from_row(row) if row else None

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
        # The intake first, then the database: a job leaves the intake only once its row is
        # committed, so one missing from the intake now is in any read that starts after.
        # (The other order misses a job committed between the two looks: issue #17.)
        with self._intake:
            pending = self._uncommitted.get(job_id)
        with self._engine.connect() as conn:
            row = conn.execute(statements.BY_ID, {"job_id": job_id}).mappings().first()
        return job_from_row(row) if row is not None else pending

    def recent(self, limit: int = 10) -> list[Job]:
        """The newest jobs, those accepted a moment ago and not yet committed included."""
        with self._intake:  # before the database, as in get(): a job leaves it once committed
            pending = dict(self._uncommitted)
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit))
            stored = {job.id: job for job in (job_from_row(row) for row in rows.mappings())}
        merged = {**pending, **stored}  # a committed row is newer than what was accepted
        return [merged[job_id] for job_id in sorted(merged, reverse=True)[:limit]]

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
            return [job_from_row(row) for row in conn.execute(query).mappings()]

    def in_states(self, *states: JobState) -> list[Job]:
        query = sa.select(jobs).where(jobs.c.state.in_([s.value for s in states]))
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(query.order_by(jobs.c.id)).mappings()]

    def pushed_digest(self, app: str, full_sha: str) -> str | None:
        return self._pushed(sa.and_(jobs.c.app == app, jobs.c.full_sha == full_sha))

    def last_pushed_digest(self, app: str) -> str | None:
        return self._pushed(jobs.c.app == app)

    def _pushed(self, where: sa.ColumnElement[bool]) -> str | None:
        """The digest of the newest succeeded job matching `where` whose image ecrbot built and
        pushed itself: a job that reused an image proves nothing new, and has no
        `pushed_digest`. One indexed read however many reuses came since (walking them lost the
        push past a bound, or parsed every reuse's result on every push)."""
        query = (
            sa.select(jobs.c.pushed_digest)
            .where(
                where,
                jobs.c.state == JobState.SUCCEEDED.value,
                jobs.c.pushed_digest.is_not(None),
            )
            .order_by(jobs.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def transition(self, job_id: int, to: JobState, *, only_from: tuple[JobState, ...]) -> bool:
        values: dict[str, Any] = {"state": to.value}
        if to is JobState.RUNNING:
            values["started_at"] = _now()
        elif to.finished:
            values["finished_at"] = _now()
        values.update(job_id=job_id, only_from=[s.value for s in only_from])
        return self._write(lambda conn: conn.execute(statements.UPDATE_FROM, values).rowcount == 1)

    def save_thread(self, job_id: int, thread_ts: str) -> None:
        values = {"job_id": job_id, "thread_ts": thread_ts}
        self._write(lambda conn: conn.execute(statements.UPDATE_BY_ID, values))

    def finish(
        self,
        job_id: int,
        state: JobState,
        *,
        result: PushResult | None = None,
        failure: Failure | None = None,
        full_sha: str | None = None,
        steps: dict[str, float] | None = None,
        owner: str | None = None,
        finished_at: datetime | None = None,
    ) -> Job | None:
        """End a running job; None if it is not running (or not on `owner`) any more.

        Conditional, so an outcome lands once and only on the job as its runner still holds it:
        a worker whose job was reaped or cancelled in the store writes nothing, and replaying a
        journaled outcome twice changes nothing the second time.
        """
        values: dict[str, Any] = {
            "steps": json.dumps(steps) if steps else None,
            "state": state.value,
            "finished_at": finished_at or _now(),
            "result": json.dumps(asdict(result)) if result else None,
            "pushed_digest": _pushed_digest(result) if state is JobState.SUCCEEDED else None,
            "failure": json.dumps(asdict(failure)) if failure else None,
        }
        if full_sha:
            values["full_sha"] = full_sha
        values.update(job_id=job_id, running=JobState.RUNNING.value)
        query = statements.FINISH
        if owner is not None:
            query, values["owner"] = statements.FINISH_OWNED, owner
        if not self._write(lambda conn: conn.execute(query, values).rowcount == 1):
            return None
        return self.get(job_id)


def _pushed_digest(result: PushResult | None) -> str | None:
    """What provenance keeps of a result: the digest of an image ecrbot pushed itself."""
    if result is not None and result.pushed and DIGEST.fullmatch(result.digest):
        return result.digest
    return None


def _settled(job: Job) -> Future[Job]:
    done: Future[Job] = Future()
    done.set_result(job)
    return done


def job_from_row(row: Any) -> Job:
    """A row of the jobs table as the domain's Job."""
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
        result=parse_result(row["result"]),
        failure=parse_failure(row["failure"]),
        step_durations=json.loads(row["steps"]) if row.get("steps") else {},
        reply_url=row.get("reply_url"),
        worker=row.get("worker"),
    )


def parse_failure(text: str | None) -> Failure | None:
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
        # `INSERT OR REPLACE` deletes the row it replaces without firing DELETE triggers unless
        # triggers are recursive: with this, the audit log's refuses a REPLACE as it does a
        # DELETE (on the bot's connections; the hash chain catches the others').
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    return on_connect
