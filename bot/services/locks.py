"""Locks: take, lift and list them, and the check pushes and promotions ask before they start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.access import Access, Action
from bot.domain.errors import UnknownApp, UsageError
from bot.domain.locks import MAX_REASON, Lock, LockStore, blocking, refusal
from bot.domain.models import AppSpec
from bot.domain.text import code


class LockService:
    """The one way to lock, unlock and read locks, authorized here for every entry point."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        all_apps: Callable[[], list[AppSpec]],
        access: Access,
        store: LockStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._apps = apps
        self._all_apps = all_apps
        self._access = access
        self._store = store
        self._clock = clock

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
        return self._store.take(wanted)

    def unlock(self, user: str, app_name: str, environment: str | None) -> Lock:
        """Lift the lock on the app (or environment); its author or anyone with the right."""
        app = self._app(app_name, user)
        self._access.require(user, Action.UNLOCK, app)
        if environment is not None and app.environment(environment) is None:
            raise UsageError(
                f"{code(app.name)} has no environment {code(environment)}.",
                _environments_of(app),
            )
        lifted = self._store.release(app.name, environment)
        if lifted is None:
            where = app.name if environment is None else f"{app.name} {environment}"
            raise UsageError(f"{code(where)} is not locked.", "`/ecr locks` lists every lock.")
        return lifted

    def held(self, user: str) -> list[Lock]:
        """Every lock, to those the LOCKS rule lets read them."""
        self._access.require(user, Action.LOCKS)
        return self._store.held()

    def check(self, app: str, environment: str | None, what: str) -> None:
        """Raise Locked if a lock stops `what` (a push: `environment` None)."""
        lock = blocking(self._store.held(app), app, environment)
        if lock is not None:
            raise refusal(lock, what)

    def _app(self, name: str, user: str) -> AppSpec:
        app = self._apps(name)
        if app is None:
            raise UnknownApp(name, self._access.visible_apps(user, self._all_apps()))
        return app


def _environments_of(app: AppSpec) -> str:
    names = ", ".join(code(env.name) for env in app.environments)
    return f"Its environments: {names}." if names else "It has no environments in the catalog."
