"""Who may do what, and where: every command and button's access rule, in one place.

Principals are Slack user ids (U…/W…) or user-group ids (S…). An app's *pushers* are listed in
the catalog; *admins* are the platform team. Each action has an audience the catalog may widen
or narrow (`slack.access`); the defaults are the narrowest a platform team would accept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain.errors import NotAuthorized, RateLimited, WrongChannel
from bot.domain.models import AppSpec, Job
from bot.domain.ports import Directory
from bot.domain.text import code


class Action(StrEnum):
    """Everything a person can ask the bot to do."""

    PUSH = "push"  # /ecr push, the Retry button
    CANCEL = "cancel"  # /ecr cancel, the Cancel button (of a push or a promotion)
    DIAGNOSE = "diagnose"  # /ecr diagnose <app>, the Run diagnose button
    DIAGNOSE_PLATFORM = "diagnose_platform"  # /ecr diagnose with no app: the bot's own setup
    REPORT = "report"  # /ecr report (posted or previewed)
    AUDIT = "audit"  # /ecr audit
    JOBS = "jobs"  # whose jobs /ecr jobs shows besides your own
    LOCK = "lock"  # /ecr lock <app> [env] <reason>
    UNLOCK = "unlock"  # /ecr unlock <app> [env]
    LOCKS = "locks"  # /ecr locks
    PROMOTE = "promote"  # ecrbot promote, /ecr promote, a failed promotion's Retry


class Audience(StrEnum):
    """Who an action is open to. `pushers` means the app's pushers and the admins."""

    EVERYONE = "everyone"
    PUSHERS = "pushers"
    ADMINS = "admins"


DEFAULT_RULES: Mapping[Action, Audience] = {
    Action.PUSH: Audience.PUSHERS,
    Action.CANCEL: Audience.PUSHERS,  # and always the job's own requester
    # Diagnose shows IAM users, access-key ids and trust policies: not for everyone in a channel.
    Action.DIAGNOSE: Audience.PUSHERS,
    Action.DIAGNOSE_PLATFORM: Audience.ADMINS,
    # An ad-hoc report posts every repository's CVEs where it is asked for.
    Action.REPORT: Audience.ADMINS,
    Action.AUDIT: Audience.ADMINS,
    Action.JOBS: Audience.PUSHERS,
    # A lock stops the app's releases: those who release it (and admins, who always may).
    Action.LOCK: Audience.PUSHERS,
    Action.UNLOCK: Audience.PUSHERS,
    # Who froze what and why is what everyone about to push needs to read.
    Action.LOCKS: Audience.EVERYONE,
    Action.PROMOTE: Audience.PUSHERS,
}
# Releasing, or stopping releases, is never open to everyone: a catalog saying so is refused.
NEVER_EVERYONE = frozenset({Action.PUSH, Action.CANCEL, Action.LOCK, Action.UNLOCK, Action.PROMOTE})

REFUSALS = {
    Action.PUSH: "Its pushers and the platform admins may; ask #platform-team to add you.",
    Action.CANCEL: "Its requester, the app's pushers and the platform admins may.",
    Action.DIAGNOSE: "The app's pushers and the platform admins may; ask #platform-team.",
    Action.DIAGNOSE_PLATFORM: "Only the platform admins may check ecrbot itself.",
    Action.REPORT: "Only the platform admins may post or preview the registry report.",
    Action.AUDIT: "Only the platform admins may read the audit log.",
    Action.JOBS: "",
    Action.LOCK: "The app's pushers and the platform admins may lock it.",
    Action.UNLOCK: "The app's pushers and the platform admins may unlock it.",
    Action.LOCKS: "Ask #platform-team who may read the locks.",
    Action.PROMOTE: "Its pushers and the platform admins may; ask #platform-team to add you.",
}


@dataclass(frozen=True)
class ChannelRule:
    """Where /ecr answers: the catalog's channels, unless the catalog lets it answer anywhere."""

    allowed: tuple[str, ...]
    restricted: bool = True

    def allows(self, channel: str | None) -> bool:
        """Whether answers may be posted in `channel` (the rule /ecr itself follows)."""
        return not self.restricted or channel in self.allowed

    def check(self, channel: str | None) -> None:
        if not self.restricted:
            return
        if not self.allowed:
            raise WrongChannel(
                "ecrbot is not set up for any channel yet.",
                "An admin sets `slack.channel` in the catalog (or `restrict_to_channels: false`).",
            )
        if channel not in self.allowed:
            where = ", ".join(f"<#{c}>" for c in self.allowed)
            raise WrongChannel("/ecr is not used in this channel.", f"Use it in {where}.")


class Access:
    """Answers 'may this user do that?' from the catalog's rules and the user directory."""

    def __init__(
        self,
        admins: tuple[str, ...],
        directory: Directory,
        rules: Mapping[Action, Audience] | None = None,
    ) -> None:
        self._admins = admins
        self._directory = directory
        self.rules = {**DEFAULT_RULES, **(rules or {})}

    def is_admin(self, user: str) -> bool:
        return self._member_of_any(user, self._admins)

    def is_pusher(self, user: str, app: AppSpec) -> bool:
        return self._member_of_any(user, app.pushers)

    def allows(self, user: str, action: Action, app: AppSpec | None = None) -> bool:
        """Whether `user` may do `action` (on `app`, for actions about one app)."""
        audience = self.rules[action]
        if audience is Audience.EVERYONE:
            return True
        if self.is_admin(user):
            return True
        if audience is Audience.ADMINS:
            return False
        return app is not None and self.is_pusher(user, app)

    def require(self, user: str, action: Action, app: AppSpec | None = None) -> None:
        """Raise NotAuthorized, with the next step, unless `user` may do `action`."""
        if not self.allows(user, action, app):
            raise NotAuthorized(_refused(action, app), REFUSALS[action])

    def may_push(self, user: str, app: AppSpec) -> bool:
        return self.allows(user, Action.PUSH, app)

    def may_approve(self, user: str, approvers: tuple[str, ...]) -> bool:
        """Approve / Reject on a promotion: a listed approver (a user, or a member of a listed
        user group). Not a catalog-tunable rule, and admins are not approvers by being admins:
        two-person approval names its people. The requester is refused by the approval rules
        (`approvals.check_click`), which know who asked."""
        return self._member_of_any(user, approvers)

    def may_cancel(self, user: str, job: Job, app: AppSpec | None) -> bool:
        return self.may_stop(user, job.requested_by, app)

    def may_stop(self, user: str, requested_by: str, app: AppSpec | None) -> bool:
        """Cancel a push or a promotion: its requester always, else the CANCEL rule (the app's
        pushers and the admins by default)."""
        return user == requested_by or self.allows(user, Action.CANCEL, app)

    def may_see_job(self, user: str, job: Job, app: AppSpec | None) -> bool:
        """Your own jobs always; others' only to those the JOBS rule lets see that app."""
        return self.may_see_work(user, job.requested_by, app)

    def may_see_work(self, user: str, requested_by: str, app: AppSpec | None) -> bool:
        """A push or a promotion in `/ecr jobs` and App Home: your own always; others' to those
        the JOBS rule lets see the app (an app that left the catalog: the admins only)."""
        return user == requested_by or self.allows(user, Action.JOBS, app)

    def visible_apps(self, user: str, apps: Iterable[AppSpec]) -> list[str]:
        """The app names a user may be told about: all for admins, else the ones they push."""
        listed = list(apps)
        if self.is_admin(user):
            return sorted(app.name for app in listed)
        return sorted(app.name for app in listed if self.is_pusher(user, app))

    def _member_of_any(self, user: str, principals: tuple[str, ...]) -> bool:
        for principal in principals:
            if principal == user:
                return True
            # Slack user-group ids start with S; anything else is a user id.
            if principal.startswith("S") and user in self._directory.members(principal):
                return True
        return False


def _refused(action: Action, app: AppSpec | None) -> str:
    what = {
        Action.PUSH: "push",
        Action.CANCEL: "cancel jobs of",
        Action.DIAGNOSE: "diagnose",
        Action.JOBS: "see the jobs of",
        Action.LOCK: "lock",
        Action.UNLOCK: "unlock",
        Action.PROMOTE: "promote",
    }.get(action)
    if what and app is not None:
        return f"You may not {what} {code(app.name)}."
    return {
        Action.DIAGNOSE_PLATFORM: "You may not diagnose the ecrbot platform.",
        Action.REPORT: "You may not post or preview the registry report.",
        Action.AUDIT: "You may not read the audit log.",
        Action.LOCKS: "You may not read the locks.",
    }.get(action, f"You may not {action.value}.")


@dataclass(frozen=True)
class Limit:
    """At most `count` requests per `per_s` seconds, per user."""

    count: int
    per_s: float


class RateWindows(Protocol):
    """Where uses are counted: this process's memory, or a store every replica shares."""

    def take(self, key: str, count: int, per_s: float) -> float | None:
        """Count one use of `key` if fewer than `count` fell in the last `per_s` seconds;
        else, without counting it, the seconds until one leaves the window."""
        ...


class MemoryRateWindows:
    """Sliding windows in this process: the single-process bot's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, count: int, per_s: float) -> float | None:
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - per_s:
                seen.popleft()
            if len(seen) >= count:
                return seen[0] + per_s - now
            seen.append(now)
        return None


class RateLimiter:
    """A sliding-window limit per (user, action): diagnose and report are expensive for AWS."""

    def __init__(
        self,
        limits: Mapping[Action, Limit],
        clock: Callable[[], float] = time.monotonic,
        windows: RateWindows | None = None,
    ) -> None:
        self._limits = dict(limits)
        # Scaled out, the windows are in the shared database, so N replicas allow what one does.
        self._windows = windows or MemoryRateWindows(clock)

    def take(self, user: str, action: Action) -> None:
        """Count one request, or raise RateLimited saying when to try again."""
        limit = self._limits.get(action)
        if limit is None:
            return
        wait_s = self._windows.take(f"{action.value}:{user}", limit.count, limit.per_s)
        if wait_s is not None:
            wait = max(1, int(wait_s + 0.999))
            raise RateLimited(
                f"You asked for {limit.count} {action.value} runs in the last "
                f"{_duration(limit.per_s)}, the most ecrbot takes.",
                f"Try again in {_duration(wait)}.",
            )


def _duration(seconds: float) -> str:
    # `//` and `/` truncate alike for the positive whole seconds limits and waits are in: the
    # mutants that swap them are equivalent, hence the pragmas.
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"  # pragma: no mutate
    if seconds >= 60:
        minutes = int(seconds // 60)  # pragma: no mutate
        return f"{minutes} min" + (f" {int(seconds % 60)} s" if seconds % 60 else "")
    return f"{int(seconds)} s"
