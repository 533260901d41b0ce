"""The Registry port over a role assumed for whoever the current work is for.

When the catalog names a role for the home registry (`registry.role`), a push or a diagnose
reaches ECR through that role assumed with the person's SourceIdentity and the app/job tags
(`bot.domain.on_behalf`), one adapter per person and job, so each keeps its own login cache.
Work done for no one (a scheduled report) assumes the role as ecrbot itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import boto3

from bot.adapters.aws_sessions import RoleAssumeFailed, RoleSessions
from bot.domain.ecr_features import SigningStatus
from bot.domain.errors import StepError
from bot.domain.models import Step
from bot.domain.on_behalf import OnBehalf, SessionValueRefused, current_on_behalf
from bot.domain.ports import Registry, RegistryCredentials, RemoteImage, RepositoryInfo

T = TypeVar("T")
KEPT = 64  # adapters kept: one per person's job that is running or just ran

MakeRegistry = Callable[[boto3.session.Session], Registry]


class PersonalRegistry:
    """`Registry`: every call made in `role` assumed for the current person (or ecrbot)."""

    def __init__(self, role: str, region: str, sessions: RoleSessions, make: MakeRegistry):
        self._role = role
        self._region = region
        self._sessions = sessions
        self._make = make
        self._adapters: OrderedDict[OnBehalf | None, Registry] = OrderedDict()
        self._lock = threading.Lock()

    def current(self) -> Registry:
        """The adapter for the person the current thread works for."""
        who = current_on_behalf.get()
        with self._lock:
            adapter = self._adapters.get(who)
            if adapter is not None:
                self._adapters.move_to_end(who)
                return adapter
        try:
            session = self._sessions.session(self._role, who, self._region)
        except SessionValueRefused as error:
            raise StepError(Step.AUTHENTICATE, f"no role session: {error}") from None
        adapter = self._make(session)
        with self._lock:
            self._adapters[who] = adapter
            while len(self._adapters) > KEPT:
                self._adapters.popitem(last=False)
        return adapter

    def repository(self, name: str) -> RepositoryInfo:
        return _assumed(lambda: self.current().repository(name))

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        return _assumed(lambda: self.current().credentials(fresh))

    def find_image(
        self, repository: RepositoryInfo, tag: str, known: str | None = None
    ) -> RemoteImage | None:
        return _assumed(lambda: self.current().find_image(repository, tag, known), Step.PREFLIGHT)

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        return _assumed(lambda: self.current().image_by_digest(repository, digest), Step.PREFLIGHT)

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        _assumed(lambda: self.current().add_tag(repository, source, new_tag), Step.PUSH)

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        return _assumed(lambda: self.current().signing_status(repository, digest), Step.VERIFY)


def _assumed(call: Callable[[], T], step: Step = Step.AUTHENTICATE) -> T:
    """A role STS refused is the step's error, in the words STS used (never credentials)."""
    try:
        return call()
    except RoleAssumeFailed as error:
        raise StepError(step, str(error)) from None
