"""Promotions: resolve a ref to a digest, copy it to the next environment, verify the digest."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from bot.domain.access import Access, Action
from bot.domain.cancel import CancelToken
from bot.domain.environments import NamedRegistry
from bot.domain.errors import UnknownApp
from bot.domain.models import AppSpec
from bot.domain.promotion import (
    CopyFailed,
    DigestMismatch,
    DigestReader,
    ImageCopier,
    ImageRef,
    Promoted,
    PromotionPlan,
    RepositoryMissing,
    plan,
)
from bot.domain.scan_gate import GateRefused, Verdict
from bot.domain.text import code
from bot.services.scan_gates import ScanGates

__all__ = ["Promoted", "PromotionService"]

# What a target holds under a tag: a digest, None (no such tag), or its repository's absence.
Found = str | None | RepositoryMissing


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
        gates: ScanGates | None = None,
        pushed: Callable[[str, str], tuple[str, ...]] = lambda app, digest: (),
        reader: DigestReader | None = None,
    ) -> None:
        self.gates = gates  # None: environments with a `gate:` are refused (fail closed)
        self._apps = apps
        self._access = access
        self._copier = copier
        # Which digest a tag names, before any copy: ECR's API (no registry login, no child
        # process) where wired; the copier's own read otherwise. The check after a copy stays
        # the copier's: it reads the manifest the registry serves.
        self._reader = reader or copier
        self._home = home
        self._locked = locked
        self._clock = clock
        self._pushed = pushed  # the tags ecrbot's own push put on a digest (its job records)

    def app(self, app_name: str, user: str | None, among: list[AppSpec] | None = None) -> AppSpec:
        """The app, if `user` (None: the terminal) may promote it; an unknown name is answered
        with the apps of `among` the user may see."""
        app = self._apps(app_name)
        if app is None:
            visible = self._access.visible_apps(user, among) if user and among else []
            raise UnknownApp(app_name, visible)
        if user is not None:
            self._access.require(user, Action.PROMOTE, app)
        return app

    def check_lock(self, app: str, environment: str) -> None:
        """Raise Locked (who, when, why) if a lock stops promotions of `app` to `environment`."""
        self._locked(app, environment, f"Promotions of {code(app)} to {code(environment)}")

    def resolve(
        self, app_name: str, ref: str, environment: str, user: str | None, approvals: bool = False
    ) -> PromotionPlan:
        """Authorize, check the locks, and resolve `ref` to a digest in the source registry
        (`approvals`: the caller asks the environment's approvers, so they don't refuse it)."""
        app = self.app(app_name, user)
        self.check_lock(app.name, environment)
        gates = self.gates is not None
        planned = plan(app, ref, environment, self._home, self._reader, approvals, gates)
        # The same SHA and version tags as the push: the other one comes from ecrbot's record
        # of the push that made this digest, never from the registry's word.
        others = tuple(t for t in self._pushed(app.name, planned.digest) if t != ref)
        return replace(planned, tags=(ref, *others)) if others else planned

    def gate(self, planned: PromotionPlan, waiting: Callable[[], None] = lambda: None) -> Verdict:
        """The scan gate's verdict on the digest (passes when the environment has none)."""
        if self.gates is None:
            return Verdict(planned.target.gate is None, "no scan reader: the gate can't pass")
        return self.gates.check(planned, waiting)

    def held(self, planned: PromotionPlan) -> bool:
        """Whether the target already holds the digest under every tag ("already there")."""
        return all(
            self._target_digest(planned.target_ref(t)) == planned.digest for t in planned.tags
        )

    def copy(
        self,
        planned: PromotionPlan,
        cancel: CancelToken | None = None,
        read: Mapping[str, Found] | None = None,
    ) -> bool:
        """Copy the digest under each tag the target lacks (or holds another digest under);
        once the target holds the manifest (under another tag, or copied for the first), the
        other tags are pointed at it without a copy. A Cancel stops it before the next tag, and
        kills a copy going on. `read`: what the target held under each tag a moment ago
        (`promote` has just read it), not read again."""
        found = {
            tag: read[tag]
            if read is not None and tag in read
            else self._found(planned.target_ref(tag))
            for tag in planned.tags
        }
        held = planned.digest in found.values()
        copied = False
        for tag, there in found.items():
            if there == planned.digest:
                continue
            if cancel is not None:
                cancel.checkpoint()
            target = planned.target_ref(tag)
            if held:
                self._copier.tag(target, planned.digest)
            elif isinstance(there, RepositoryMissing):
                self._copy_into_missing(planned.source, target, there, cancel)
            else:
                self._copier.copy(planned.source, target, cancel)
            held = copied = True
        return copied

    def _target_digest(self, target: ImageRef) -> str | None:
        found = self._found(target)
        # A missing repository: not there; the copy says why (or creates it on push).
        return None if isinstance(found, RepositoryMissing) else found

    def _found(self, target: ImageRef) -> Found:
        try:
            return self._reader.digest(target)
        except RepositoryMissing as missing:
            return missing

    def _copy_into_missing(
        self,
        source: ImageRef,
        target: ImageRef,
        missing: Exception,
        cancel: CancelToken | None = None,
    ) -> None:
        """A copy to a repository ECR does not know: it works where a create-on-push template
        makes it; else the refusal names the missing repository, not the copier's words only."""
        try:
            self._copier.copy(source, target, cancel)
        except CopyFailed as error:
            raise RepositoryMissing(
                f"{missing} Create it (or a create-on-push template for it), then promote "
                f"again. The copy said: {error}"
            ) from None

    def verify(self, planned: PromotionPlan) -> tuple[str, ...]:
        """Read every tag back: the digest must be the source's, or DigestMismatch."""
        for tag in planned.tags:
            found = self._copier.digest(planned.target_ref(tag))
            if found != planned.digest:
                raise DigestMismatch(
                    f"{planned.target_ref(tag)} holds {found}, not {planned.digest}: the copy "
                    "changed the image (a registry that rewrites manifests?)"
                )
        return tuple(str(planned.target_ref(tag)) for tag in planned.tags)

    def promote(self, app_name: str, ref: str, environment: str, user: str | None) -> Promoted:
        """Copy the digest `ref` names to `environment`, unless it is there already."""
        started = self._clock()
        planned = self.resolve(app_name, ref, environment, user)
        # Read once: it decides "already there", and the copy's tags are these reads' answers.
        read = {tag: self._found(planned.target_ref(tag)) for tag in planned.tags}
        if all(found == planned.digest for found in read.values()):
            # Already there: nothing is sent, and there is nothing to verify.
            uris = tuple(str(planned.target_ref(tag)) for tag in planned.tags)
            return Promoted(planned, False, uris, self._clock() - started)
        if planned.target.gate is not None:
            verdict = self.gate(planned)
            if not verdict.passed:
                raise GateRefused(
                    verdict.reason() + ".",
                    "Only an admin's approval overrides the gate: promote from Slack.",
                )
        copied = self.copy(planned, read=read)
        uris = self.verify(planned)
        return Promoted(planned, copied, uris, self._clock() - started)

    def elapsed(self, started: float) -> float:
        return self._clock() - started

    def now(self) -> float:
        return self._clock()
