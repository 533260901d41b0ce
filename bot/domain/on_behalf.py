"""Who an AWS call is made for: the role session's `SourceIdentity`, name and session tags.

Every AWS call made for a person goes through a role session assumed with `SourceIdentity` set
to the Slack user who asked, so CloudTrail shows who asked; the value persists through role
chaining and can't be changed once set (IAM User Guide, "Monitor and control actions taken with
assumed roles", read 2026-12). The user comes from ecrbot's own record of the request (the
signed request's user id, a job's `user`), never from text someone typed.

Limits followed (STS API Reference, `AssumeRole` and `Tag`, read 2026-12): `SourceIdentity` and
`RoleSessionName` are 2-64 characters of `[\\w+=,.@-]`, and `SourceIdentity` can't begin with
`aws:`; up to 50 session tags, keys 1-128 and values 0-256 characters of
`[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`, no key starting `aws:`, and keys are case-insensitive.

The person is carried to the adapters by a context variable, like `job_context`: the copier's
and the registry's ports stay as they are, and the service that knows the person sets it around
the work it does for them (a thread pool does not carry it: set it in the pool's thread).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
# A Slack user id (U…, or W… on Enterprise Grid) and a team id (T…, E… for an org).
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")
SLACK_TEAM = re.compile(r"[TE][A-Z0-9]{2,30}")
TAG_PUNCTUATION = set("_.:/=+-@")
MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
# ecrbot's own tag keys; transitive so a session chained from this one keeps them too, as it
# keeps the SourceIdentity.
APP_TAG = "ecrbot-app"
JOB_TAG = "ecrbot-job"
TRANSITIVE = (APP_TAG, JOB_TAG)


class SessionValueRefused(ValueError):
    """A value that AWS would refuse in a role session (or that is not ecrbot's record)."""


@dataclass(frozen=True)
class OnBehalf:
    """A person's request as ecrbot recorded it: who (Slack ids), which app, which job."""

    user: str  # the Slack user id of the signed request, or the job's recorded user
    app: str
    job: str  # e.g. `push-42`, `promote-prod`, `diagnose`, `report`
    team: str | None = None

    @property
    def source_identity(self) -> str:
        return source_identity(self.user, self.team)

    @property
    def session_name(self) -> str:
        return session_name(self)

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        return session_tags({APP_TAG: self.app, JOB_TAG: self.job})


def source_identity(user: str, team: str | None = None) -> str:
    """`U012AB3CD` (or `U012AB3CD@T0001` with the team): a Slack id, or SessionValueRefused."""
    if not SLACK_USER.fullmatch(user):
        raise SessionValueRefused(f"not a Slack user id: {user[:40]!r}")
    if team is not None and not SLACK_TEAM.fullmatch(team):
        raise SessionValueRefused(f"not a Slack team id: {team[:40]!r}")
    value = f"{user}@{team}" if team else user
    return checked_identity(value)


def checked_identity(value: str) -> str:
    """`value` if STS accepts it as a SourceIdentity or RoleSessionName, else refused."""
    if not IDENTITY.fullmatch(value):
        raise SessionValueRefused(f"2-64 characters of [A-Za-z0-9_+=,.@-], not {value[:70]!r}")
    if value.lower().startswith("aws:"):
        raise SessionValueRefused("a SourceIdentity can't begin with `aws:`")
    return value


def session_name(who: OnBehalf) -> str:
    """`ecrbot-U012AB3CD-push-42`, cut to 64 characters: also shown in the session's ARN."""
    job = re.sub(r"[^\w+=,.@-]", "_", who.job, flags=re.ASCII)
    return checked_identity(f"ecrbot-{who.source_identity}-{job}"[:64])


def tag_text(value: str, limit: int) -> str:
    """`value` with what a session tag can't hold replaced by `_`, cut to `limit`."""
    kept = "".join(c if _tag_char(c) else "_" for c in value)
    return kept[:limit]


def session_tags(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Session tags as STS takes them: keys checked (ecrbot's own), values made to fit."""
    if len(tags) > MAX_TAGS:
        raise SessionValueRefused(f"{len(tags)} session tags, at most {MAX_TAGS}")
    seen: set[str] = set()
    out = []
    for key, value in tags.items():
        if not key or len(key) > MAX_KEY or tag_text(key, MAX_KEY) != key:
            raise SessionValueRefused(f"not a session tag key: {key[:40]!r}")
        if key.lower().startswith("aws:") or key.lower() in seen:
            raise SessionValueRefused(f"session tag key {key!r} is reserved or repeated")
        seen.add(key.lower())
        out.append((key, tag_text(value, MAX_VALUE)))
    return tuple(out)


def _tag_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LZN" or c in TAG_PUNCTUATION


current_on_behalf: ContextVar[OnBehalf | None] = ContextVar("current_on_behalf", default=None)

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def on_behalf_of(who: OnBehalf | None) -> Iterator[None]:
    """AWS calls made inside are made for `who` (None: for ecrbot itself)."""
    token = current_on_behalf.set(who)
    try:
        yield
    finally:
        current_on_behalf.reset(token)


def acting_for(who: OnBehalf | None, work: Callable[P, R], *args: P.args, **kw: P.kwargs) -> R:
    """Run `work` on behalf of `who`: what a pool runs, since a pool doesn't carry the context."""
    with on_behalf_of(who):
        return work(*args, **kw)
