"""Locks: an app (or one of its environments) frozen, by whom, since when and why.

A lock belongs to the app and environment, not to the person who took it: anyone with the
unlock right lifts it. An app-wide lock (`environment` None) stops pushes and every promotion
of the app; an environment's lock stops promotions to that environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.errors import UserError
from bot.domain.text import code, plain

MAX_REASON = 300  # characters of a reason kept; a lock is a sentence, not a document


@dataclass(frozen=True)
class Lock:
    app: str
    environment: str | None  # None: the whole app
    reason: str
    locked_by: str  # a Slack user id
    locked_at: datetime

    @property
    def target(self) -> str:
        return self.app if self.environment is None else f"{self.app} {self.environment}"


class LockStore(Protocol):
    """Where locks live: the shared database, so they survive restarts and hold across replicas."""

    def take(self, lock: Lock) -> Lock:
        """Store `lock`, or return the lock already held on its app and environment."""
        ...

    def release(self, app: str, environment: str | None) -> Lock | None:
        """Remove and return the lock on that app and environment (None: there was none)."""
        ...

    def held(self, app: str | None = None) -> list[Lock]:
        """Every lock (of `app`), oldest first."""
        ...


class Locked(UserError):
    """What was asked for is locked; the message says by whom, when and why."""


def blocking(locks: list[Lock], app: str, environment: str | None) -> Lock | None:
    """The lock that stops a push (`environment` None) or a promotion to `environment`."""
    for lock in locks:
        if lock.app == app and lock.environment in (None, environment):
            return lock
    return None


def refusal(lock: Lock, what: str) -> Locked:
    """`what` (e.g. "Pushes of my-app") refused, naming the lock's author, time and reason."""
    when = lock.locked_at.strftime("%Y-%m-%d %H:%M UTC")
    return Locked(
        f"{what} are locked: {code(lock.target)} was locked by {code(lock.locked_by)} at {when}: "
        f"{plain(lock.reason, MAX_REASON)}",
        f"Ask them, or run `/ecr unlock {lock.target}` if you may and it is time.",
    )
