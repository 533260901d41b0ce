"""The jobs table as the scaled-out fleet shares it: claims, heartbeats, cancel requests.

Every rule that must hold across processes (one push per app at a time, the fleet-wide build
limit, who runs what, cancel reaching the job wherever it runs) is a transaction here, on the
PostgreSQL database all bot replicas and workers share; Celery only carries "look at app X".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.adapters.schema import jobs
from bot.adapters.store import job_from_row
from bot.domain.fleet import Claim
from bot.domain.models import Failure, Job, JobState

# One lock for every claim: claims are short and rare next to builds, and one lock makes the
# per-app and fleet-wide checks and the update one atomic step.
CLAIM_LOCK = 7_305_117_001
RUNNING, QUEUED = JobState.RUNNING.value, JobState.QUEUED.value


class SqlFleet:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def claim_next(self, app: str, worker: str, limit: int) -> Job | Claim:
        """Mark the app's oldest queued job running on `worker`, if the rules allow."""
        now = _now()
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
            oldest = conn.execute(
                sa.select(jobs.c.id)
                .where(jobs.c.app == app, jobs.c.state == QUEUED)
                .order_by(jobs.c.id)
                .limit(1)
            ).scalar()
            if oldest is None:
                return Claim.NOTHING
            conn.execute(
                jobs.update()
                .where(jobs.c.id == oldest, jobs.c.state == QUEUED)
                .values(state=RUNNING, worker=worker, started_at=now, heartbeat_at=now)
            )
            row = conn.execute(sa.select(jobs).where(jobs.c.id == oldest)).mappings().one()
        return job_from_row(row)

    def heartbeat(self, worker: str, job_ids: list[int]) -> set[int]:
        """Mark `worker`'s running jobs alive; returns those someone asked to cancel."""
        if not job_ids:
            return set()
        mine = (jobs.c.id.in_(job_ids), jobs.c.worker == worker, jobs.c.state == RUNNING)
        with self._engine.begin() as conn:
            conn.execute(jobs.update().where(*mine).values(heartbeat_at=_now()))
            asked = conn.execute(sa.select(jobs.c.id).where(*mine, jobs.c.cancel_requested))
            return {int(job_id) for (job_id,) in asked}

    def request_cancel(self, job_id: int) -> bool:
        """Ask whoever runs the job to stop it; True if it is running now."""
        with self._engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(cancel_requested=True))
            state = conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job_id)).scalar()
        return state == RUNNING

    def stale(self, silent_for_s: float) -> list[Job]:
        """Running jobs whose worker has not sent a heartbeat for `silent_for_s` seconds."""
        cutoff = _now() - timedelta(seconds=silent_for_s)
        query = sa.select(jobs).where(jobs.c.state == RUNNING, jobs.c.heartbeat_at < cutoff)
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(query).mappings()]

    def mine_running(self, worker: str) -> list[Job]:
        query = sa.select(jobs).where(jobs.c.state == RUNNING, jobs.c.worker == worker)
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(query).mappings()]

    def interrupt(self, job: Job, failure: Failure, silent_for_s: float = 0.0) -> bool:
        """End a running job whose worker is gone, once (a live heartbeat since wins)."""
        cutoff = _now() - timedelta(seconds=silent_for_s)
        query = (
            jobs.update()
            .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.heartbeat_at <= cutoff)
            .values(
                state=JobState.INTERRUPTED.value,
                finished_at=_now(),
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


def _now() -> datetime:
    return datetime.now(UTC)
