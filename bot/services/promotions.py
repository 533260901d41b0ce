"""Promotions: resolve a ref to a digest, copy it to the next environment, verify the digest."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.domain.access import Access, Action
from bot.domain.environments import NamedRegistry
from bot.domain.errors import UnknownApp
from bot.domain.models import AppSpec
from bot.domain.promotion import DigestMismatch, ImageCopier, Promoted, plan
from bot.domain.text import code

__all__ = ["Promoted", "PromotionService"]


class PromotionService:
    """The one way to promote; the terminal (`user` None) is the operator, not a Slack user."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        access: Access,
        copier: ImageCopier,
        home: NamedRegistry,
        locked: Callable[[str, str | None, str], None] = lambda *_: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._apps = apps
        self._access = access
        self._copier = copier
        self._home = home
        self._locked = locked
        self._clock = clock

    def promote(self, app_name: str, ref: str, environment: str, user: str | None) -> Promoted:
        """Copy the digest `ref` names to `environment`, unless it is there already."""
        started = self._clock()
        app = self._apps(app_name)
        if app is None:
            raise UnknownApp(app_name, [])
        if user is not None:
            self._access.require(user, Action.PROMOTE, app)
        self._locked(app.name, environment, f"Promotions of {code(app.name)} to {environment}")
        planned = plan(app, ref, environment, self._home, self._copier)
        copied = False
        for tag in planned.tags:
            target = planned.target_ref(tag)
            # Already there: nothing is sent; a tag that names another digest is moved.
            if self._copier.digest(target) != planned.digest:
                self._copier.copy(planned.source, target)
                copied = True
        for tag in planned.tags:  # verify after the copy: the digest must be the source's
            found = self._copier.digest(planned.target_ref(tag))
            if found != planned.digest:
                raise DigestMismatch(
                    f"{planned.target_ref(tag)} holds {found}, not {planned.digest}: the copy "
                    "changed the image (a registry that rewrites manifests?)"
                )
        uris = tuple(str(planned.target_ref(tag)) for tag in planned.tags)
        return Promoted(planned, copied, uris, self._clock() - started)
