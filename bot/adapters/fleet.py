"""The jobs table as the scaled-out fleet shares it: claims, heartbeats, cancel requests.

Every rule that must hold across processes (one push per app at a time, the fleet-wide build
limit, who runs what, cancel reaching the job wherever it runs) is a transaction here, on the
PostgreSQL database all bot replicas and workers share; Celery only carries "look at app X".

Time is the database's: heartbeats are stamped and staleness is judged with PostgreSQL's
`now()`, so a worker whose host clock is off can neither look dead while it beats nor alive
after it stopped. A write about a running job is conditional on its owner (`worker = :me AND
state = 'running'`): a worker that lost its job (reaped, cancelled in the store) changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.adapters.schema import jobs
from bot.adapters.store import job_from_row
from bot.domain.fleet import Beat, Claim, Ownership
from bot.domain.models import Failure, Job, JobState

log = logging.getLogger(__name__)

# One lock for every claim: claims are short and rare next to builds, and one lock makes the
# per-app and fleet-wide checks and the update one atomic step.
CLAIM_LOCK = 7_305_117_001
RUNNING, QUEUED = JobState.RUNNING.value, JobState.QUEUED.value
SKEW_WARNING_S = 5.0  # a worker host clock further off than this is named in the log


class SqlFleet:
    def __init__(
        self, engine: sa.Engine, host_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # Only to say in the log that this host's clock is off: no decision reads it.
        self._host_clock = host_clock
        self.skew_s = 0.0

    def claim_next(self, app: str, worker: str, limit: int) -> Job | Claim:
        """Mark the app's oldest queued job running on `worker`, if the rules allow."""
        with self._engine.begin() as conn:
            if self._postgres:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CLAIM_LOCK)))
            busy = conn.execute(
                sa.select(jobs.c.id).where(jobs.c.app == app, jobs.c.state == RUNNING).limit(1)
            ).first()
            if busy is not None:
                return Claim.NOTHING  # its end dispatches the next one
            running = conn.execute(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state == RUNNING)
            ).scalar_one()
            if running >= limit:
                return Claim.FLEET_BUSY
            # A job someone asked to cancel is never started, even if its cancel has not yet
            # been turned into the `cancelled` state by the replica that took it.
            oldest = conn.execute(
                sa.select(jobs.c.id)
                .where(jobs.c.app == app, jobs.c.state == QUEUED, ~jobs.c.cancel_requested)
                .order_by(jobs.c.id)
                .limit(1)
            ).scalar()
            if oldest is None:
                return Claim.NOTHING
            claimed = conn.execute(
                jobs.update()
                .where(jobs.c.id == oldest, jobs.c.state == QUEUED, ~jobs.c.cancel_requested)
                .values(
                    state=RUNNING,
                    worker=worker,
                    started_at=sa.func.now(),
                    heartbeat_at=sa.func.now(),
                )
                .returning(*jobs.c)
            ).mappings()
            row = claimed.first()
        return job_from_row(row) if row is not None else Claim.NOTHING

    def heartbeat(self, worker: str, job_ids: list[int]) -> Beat:
        """Mark `worker`'s running jobs alive; returns those to stop: asked to cancel, or no
        longer the worker's (reaped, cancelled in the store)."""
        if not job_ids:
            return Beat(frozenset(), frozenset())
        mine = (jobs.c.id.in_(job_ids), jobs.c.worker == worker, jobs.c.state == RUNNING)
        with self._engine.begin() as conn:
            rows = conn.execute(
                jobs.update()
                .where(*mine)
                .values(heartbeat_at=sa.func.now())
                .returning(jobs.c.id, jobs.c.cancel_requested, jobs.c.heartbeat_at)
            ).all()
        alive = {int(row.id) for row in rows}
        if rows:
            self._note_skew(rows[0].heartbeat_at)
        return Beat(
            frozenset(int(row.id) for row in rows if row.cancel_requested),
            frozenset(set(job_ids) - alive),
        )

    def ownership(self, job_id: int, worker: str) -> Ownership:
        """Re-read who owns a job (just before a push): the heartbeat may not have said yet."""
        query = sa.select(jobs.c.state, jobs.c.worker, jobs.c.cancel_requested).where(
            jobs.c.id == job_id
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.state != RUNNING or row.worker != worker:
            return Ownership.LOST
        return Ownership.CANCEL_REQUESTED if row.cancel_requested else Ownership.MINE

    def request_cancel(self, job_id: int) -> bool:
        """Ask whoever runs the job to stop it; True if it is running now.

        The flag is committed in the same statement that reads the state, under the row's lock:
        a claim that comes after it skips the job, one that came before makes it `running`.
        """
        query = (
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(cancel_requested=True)
            .returning(jobs.c.state)
        )
        with self._engine.begin() as conn:
            state = conn.execute(query).scalar()
        return state == RUNNING

    def stale(self, silent_for_s: float) -> list[Job]:
        """Running jobs whose worker has not sent a heartbeat for `silent_for_s` seconds (by the
        database's clock, which stamped the heartbeats)."""
        query = sa.select(jobs).where(
            jobs.c.state == RUNNING, jobs.c.heartbeat_at < _db_ago(silent_for_s)
        )
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(query).mappings()]

    def mine_running(self, worker: str) -> list[Job]:
        query = sa.select(jobs).where(jobs.c.state == RUNNING, jobs.c.worker == worker)
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(query).mappings()]

    def interrupt(self, job: Job, failure: Failure, silent_for_s: float = 0.0) -> bool:
        """End a running job whose worker is gone, once (a live heartbeat since wins)."""
        query = (
            jobs.update()
            .where(
                jobs.c.id == job.id,
                jobs.c.state == RUNNING,
                jobs.c.heartbeat_at <= _db_ago(silent_for_s),
            )
            .values(
                state=JobState.INTERRUPTED.value,
                finished_at=sa.func.now(),
                failure=json.dumps(asdict(failure)),
            )
        )
        with self._engine.begin() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def waiting(self) -> dict[str, int]:
        query = (
            sa.select(jobs.c.app, sa.func.count())
            .where(jobs.c.state == QUEUED)
            .group_by(jobs.c.app)
        )
        with self._engine.connect() as conn:
            return {str(app): int(count) for app, count in conn.execute(query)}

    def blocker(self, job_id: int, app: str) -> int | None:
        """The newest earlier job of the app still queued or running: what this one waits for."""
        query = sa.select(sa.func.max(jobs.c.id)).where(
            jobs.c.app == app, jobs.c.id < job_id, jobs.c.state.in_([QUEUED, RUNNING])
        )
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def _note_skew(self, database_now: datetime | None) -> None:
        if database_now is None:
            return
        skew = (self._host_clock() - database_now).total_seconds()
        if abs(skew) > SKEW_WARNING_S and abs(skew - self.skew_s) > SKEW_WARNING_S:
            log.warning(
                "this host's clock is %+.0f s off the database's; heartbeats and staleness use "
                "the database's clock, so only this host's log timestamps are off",
                skew,
            )
        self.skew_s = skew


def _db_ago(seconds: float) -> sa.ColumnElement[datetime]:
    """The database's `now()` minus `seconds`: never a host clock, which may be skewed."""
    return sa.func.now() - sa.literal(timedelta(seconds=seconds), sa.Interval)
