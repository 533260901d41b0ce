"""The port of the scaled-out setup's shared jobs table: what the Celery queue (runtime) asks of
it. The SQL implementation is `adapters/fleet.py`; bootstrap hands it to the queue, so the
runtime layer never imports an adapter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.domain.models import Failure, Job


class Claim(Enum):
    NOTHING = "nothing queued for the app, or one of it is running"
    FLEET_BUSY = "the fleet runs its limit of builds"


class Ownership(Enum):
    MINE = "running on this worker"
    CANCEL_REQUESTED = "running on this worker, and someone asked to cancel it"
    LOST = "not running on this worker any more (reaped, cancelled in the store, or gone)"


@dataclass(frozen=True)
class Beat:
    """What one heartbeat learnt: jobs to stop, and why."""

    cancel_requested: frozenset[int]
    lost: frozenset[int]

    @property
    def to_stop(self) -> frozenset[int]:
        return self.cancel_requested | self.lost


class Fleet(Protocol):
    """Claims, heartbeats and cancel requests, each one transaction on the shared database."""

    def claim_next(self, app: str, worker: str, limit: int) -> Job | Claim:
        """Mark the app's oldest queued job running on `worker`, if the rules allow."""
        ...

    def heartbeat(self, worker: str, job_ids: list[int]) -> Beat:
        """Mark `worker`'s running jobs alive; returns those to stop: asked to cancel, or no
        longer the worker's (reaped, cancelled in the store)."""
        ...

    def ownership(self, job_id: int, worker: str) -> Ownership:
        """Re-read who owns a job (just before a push): the heartbeat may not have said yet."""
        ...

    def request_cancel(self, job_id: int) -> bool:
        """Ask whoever runs the job to stop it; True if it is running now."""
        ...

    def stale(self, silent_for_s: float) -> list[Job]:
        """Running jobs whose worker has not sent a heartbeat for `silent_for_s` seconds."""
        ...

    def mine_running(self, worker: str) -> list[Job]:
        """The jobs the database says `worker` is running."""
        ...

    def interrupt(self, job: Job, failure: Failure, silent_for_s: float = 0.0) -> bool:
        """End a running job whose worker is gone, once (a live heartbeat since wins)."""
        ...

    def waiting(self) -> dict[str, int]:
        """Queued jobs per app."""
        ...

    def blocker(self, job_id: int, app: str) -> int | None:
        """The newest earlier job of the app still queued or running: what this one waits for."""
        ...
