"""Locks: take, lift and list them, and the check pushes and promotions ask before they start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.access import Access, Action
from bot.domain.errors import UnknownApp, UsageError
from bot.domain.locks import MAX_REASON, Lock, LockStore, blocking, refusal
from bot.domain.models import AppSpec
from bot.domain.text import code

# How old the acknowledgement's view of the locks may be (`admits`). Only a lock taken by
# another process (a replica) can be missed that long; this process's own lock and unlock
# refresh it at once, and the job's start asks the store itself.
SNAPSHOT_S = 1.0


class LockService:
    """The one way to lock, unlock and read locks, authorized here for every entry point."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        all_apps: Callable[[], list[AppSpec]],
        access: Access,
        store: LockStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        snapshot_s: float = SNAPSHOT_S,
    ) -> None:
        self._apps = apps
        self._all_apps = all_apps
        self._access = access
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._snapshot_s = snapshot_s
        self._snapshot: tuple[float, list[Lock]] | None = None  # (read at, every lock)
        self._generation = 0  # bumped by each lock and unlock here: a read begun before is old
        self._snapshot_lock = threading.Lock()

    def lock(self, user: str, app_name: str, environment: str | None, reason: str) -> Lock:
        """Lock the app (or one environment); an existing lock is returned, not replaced."""
        app = self._app(app_name, user)
        self._access.require(user, Action.LOCK, app)
        if environment is not None and app.environment(environment) is None:
            # `/ecr lock my-app deploy is broken`: "deploy" is the reason's first word. Locking
            # the whole app when in doubt errs on the side of stopping releases.
            reason, environment = f"{environment} {reason}", None
        if len(reason) > MAX_REASON:
            raise UsageError(
                f"That reason is {len(reason)} characters long.",
                f"Say it in at most {MAX_REASON}; link to the details.",
            )
        wanted = Lock(app.name, environment, reason, user, self._clock())
        try:
            return self._store.take(wanted)
        finally:
            self._forget_snapshot()

    def unlock(self, user: str, app_name: str, environment: str | None) -> Lock:
        """Lift the lock on the app (or environment); its author or anyone with the right."""
        app = self._app(app_name, user)
        self._access.require(user, Action.UNLOCK, app)
        if environment is not None and app.environment(environment) is None:
            raise UsageError(
                f"{code(app.name)} has no environment {code(environment)}.",
                _environments_of(app),
            )
        try:
            lifted = self._store.release(app.name, environment)
        finally:
            self._forget_snapshot()
        if lifted is None:
            where = app.name if environment is None else f"{app.name} {environment}"
            raise UsageError(f"{code(where)} is not locked.", "`/ecr locks` lists every lock.")
        return lifted

    def held(self, user: str) -> list[Lock]:
        """Every lock, to those the LOCKS rule lets read them."""
        self._access.require(user, Action.LOCKS)
        return self._store.held()

    def check(self, app: str, environment: str | None, what: str) -> None:
        """Raise Locked if a lock stops `what` (a push: `environment` None), as the store has
        it now: what a job asks as it starts."""
        lock = blocking(self._store.held(app), app, environment)
        if lock is not None:
            raise refusal(lock, what)

    def admits(self, app: str, environment: str | None, what: str) -> None:
        """`check`, against every lock as read at most `snapshot_s` ago: what a slash command
        asks inside its acknowledgement. A query per push was a third of the ack's own time
        (issue #19); locks change rarely, this process's changes are seen at once, and a lock
        another replica took a moment ago still stops the job when it starts (`check`)."""
        lock = blocking(self._current(), app, environment)
        if lock is not None:
            raise refusal(lock, what)

    def warm(self) -> None:
        """Read the locks once before traffic (a warm-up piece /readyz waits for): the first
        acknowledgement then neither compiles the query nor reads the table."""
        self._current()

    def _current(self) -> list[Lock]:
        now = self._monotonic()
        with self._snapshot_lock:
            snapshot, generation = self._snapshot, self._generation
        if snapshot is not None and now - snapshot[0] < self._snapshot_s:
            return snapshot[1]
        held = self._store.held()
        with self._snapshot_lock:
            if self._generation == generation:  # no lock or unlock here while we read
                self._snapshot = (now, held)
        return held

    def _forget_snapshot(self) -> None:
        with self._snapshot_lock:
            self._snapshot = None
            self._generation += 1

    def _app(self, name: str, user: str) -> AppSpec:
        app = self._apps(name)
        if app is None:
            raise UnknownApp(name, self._access.visible_apps(user, self._all_apps()))
        return app


def _environments_of(app: AppSpec) -> str:
    names = ", ".join(code(env.name) for env in app.environments)
    return f"Its environments: {names}." if names else "It has no environments in the catalog."
