"""Who may do what, and where: every command and button's access rule, in one place.

Principals are Slack user ids (U…/W…) or user-group ids (S…). An app's *pushers* are listed in
the catalog; *admins* are the platform team. Each action has an audience the catalog may widen
or narrow (`slack.access`); the defaults are the narrowest a platform team would accept.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import NotAuthorized, RateLimited, UsageError
from bot.domain.models import AppSpec, Job
from bot.domain.ports import Directory
from bot.domain.text import code


class Action(StrEnum):
    """Everything a person can ask the bot to do."""

    PUSH = "push"  # /ecr push, the Retry button
    CANCEL = "cancel"  # /ecr cancel, the Cancel button
    DIAGNOSE = "diagnose"  # /ecr diagnose <app>, the Run diagnose button
    DIAGNOSE_PLATFORM = "diagnose_platform"  # /ecr diagnose with no app: the bot's own setup
    REPORT = "report"  # /ecr report (posted or previewed)
    AUDIT = "audit"  # /ecr audit
    JOBS = "jobs"  # whose jobs /ecr jobs shows besides your own


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
}
# Push is never open to everyone: a catalog that says so is refused at start.
NEVER_EVERYONE = frozenset({Action.PUSH, Action.CANCEL})

REFUSALS = {
    Action.PUSH: "Its pushers and the platform admins may; ask #platform-team to add you.",
    Action.CANCEL: "Its requester, the app's pushers and the platform admins may.",
    Action.DIAGNOSE: "The app's pushers and the platform admins may; ask #platform-team.",
    Action.DIAGNOSE_PLATFORM: "Only the platform admins may check ecrbot itself.",
    Action.REPORT: "Only the platform admins may post or preview the registry report.",
    Action.AUDIT: "Only the platform admins may read the audit log.",
    Action.JOBS: "",
}


@dataclass(frozen=True)
class ChannelRule:
    """Where /ecr answers: the catalog's channels, unless the catalog lets it answer anywhere."""

    allowed: tuple[str, ...]
    restricted: bool = True

    def check(self, channel: str | None) -> None:
        if not self.restricted:
            return
        if not self.allowed:
            raise UsageError(
                "ecrbot is not set up for any channel yet.",
                "An admin sets `slack.channel` in the catalog (or `restrict_to_channels: false`).",
            )
        if channel not in self.allowed:
            where = ", ".join(f"<#{c}>" for c in self.allowed)
            raise UsageError("/ecr is not used in this channel.", f"Use it in {where}.")


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

    def may_cancel(self, user: str, job: Job, app: AppSpec | None) -> bool:
        return user == job.requested_by or self.allows(user, Action.CANCEL, app)

    def may_see_job(self, user: str, job: Job, app: AppSpec | None) -> bool:
        """Your own jobs always; others' only to those the JOBS rule lets see that app."""
        return user == job.requested_by or self.allows(user, Action.JOBS, app)

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
    }.get(action)
    if what and app is not None:
        return f"You may not {what} {code(app.name)}."
    return {
        Action.DIAGNOSE_PLATFORM: "You may not diagnose the ecrbot platform.",
        Action.REPORT: "You may not post or preview the registry report.",
        Action.AUDIT: "You may not read the audit log.",
    }.get(action, f"You may not {action.value}.")


@dataclass(frozen=True)
class Limit:
    """At most `count` requests per `per_s` seconds, per user."""

    count: int
    per_s: float


class RateLimiter:
    """A sliding-window limit per (user, action): diagnose and report are expensive for AWS."""

    def __init__(
        self, limits: Mapping[Action, Limit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._seen: dict[tuple[str, Action], deque[float]] = {}

    def take(self, user: str, action: Action) -> None:
        """Count one request, or raise RateLimited saying when to try again."""
        limit = self._limits.get(action)
        if limit is None:
            return
        now = self._clock()
        seen = self._seen.setdefault((user, action), deque())
        while seen and seen[0] <= now - limit.per_s:
            seen.popleft()
        if len(seen) >= limit.count:
            wait = max(1, int(seen[0] + limit.per_s - now + 0.999))
            raise RateLimited(
                f"You asked for {limit.count} {action.value} runs in the last "
                f"{_duration(limit.per_s)}, the most ecrbot takes.",
                f"Try again in {_duration(wait)}.",
            )
        seen.append(now)


def _duration(seconds: float) -> str:
    # `//` and `/` truncate alike for the positive whole seconds limits and waits are in: the
    # mutants that swap them are equivalent, hence the pragmas.
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"  # pragma: no mutate
    if seconds >= 60:
        minutes = int(seconds // 60)  # pragma: no mutate
        return f"{minutes} min" + (f" {int(seconds % 60)} s" if seconds % 60 else "")
    return f"{int(seconds)} s"
