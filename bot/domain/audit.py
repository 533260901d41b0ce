"""The audit log's values: who did what, where, when, and how it ended; and how to ask for them.

Entries are appended, never changed (the database refuses UPDATE and DELETE on the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import UsageError
from bot.domain.text import code

BOT = "ecrbot"  # the user of the bot's own entries (triage answers)
MAX_LIMIT = 100_000  # entries one query returns (an export); more is the database's to answer


class Kind(StrEnum):
    """What reached the bot."""

    COMMAND = "command"
    BUTTON = "button"
    SHORTCUT = "shortcut"
    MODAL = "modal"
    TRIAGE = "triage"
    EVENT = "event"


class Outcome(StrEnum):
    """How the bot answered."""

    OK = "ok"
    REFUSED = "refused"  # not authorized, rate limited, the channel rule, a full queue
    ERROR = "error"  # an unexpected error (its error id is the reason), or no answer at all
    USAGE = "usage"  # the words were off
    DUPLICATE = "duplicate"  # a resubmit that found the job its first submit made: nothing new


@dataclass(frozen=True)
class AuditEntry:
    """One request and its outcome. `at` is stamped when the entry is recorded, if not given."""

    user: str  # a Slack user id, or BOT
    kind: str  # a Kind
    action: str  # "push", "diagnose", "cancel", "retry", "triage_answer", "home"...
    outcome: str  # an Outcome
    app: str | None = None
    channel: str | None = None
    detail: str | None = None  # what was asked, e.g. the command's words
    reason: str | None = None  # why it was refused or failed, as the person was told
    at: datetime | None = None
    job: int | None = None  # the job it made, found or acted on


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: newest first, at most `limit`."""

    app: str | None = None
    user: str | None = None
    since: datetime | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {self.limit}")


@dataclass(frozen=True)
class AuditPage:
    """The newest entries matching `query`, and how many match in all."""

    query: AuditQuery
    entries: list[AuditEntry]
    total: int


UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
UNITS["w"] = timedelta(weeks=1)
DURATION = re.compile(r"([0-9]{1,4})([mhdw])")  # ASCII digits: int() would take `²` too
LONGEST = timedelta(days=366)  # a year and a day; older entries are for `ecrbot audit`'s SQL
DURATION_HELP = "Give a number and a unit: `30m`, `12h`, `7d` or `2w` (at most 366 days)."


def parse_duration(word: str) -> timedelta:
    """`30m`, `12h`, `7d` or `2w` as a timedelta; anything else, or over 366 days: UsageError."""
    match = DURATION.fullmatch(word)
    if match is None:
        raise UsageError(f"{code(word, 40)} is not a duration.", DURATION_HELP)
    duration = int(match.group(1)) * UNITS[match.group(2)]
    if not timedelta(0) < duration <= LONGEST:
        raise UsageError(f"{code(word, 40)} is not between 1 minute and 366 days.", DURATION_HELP)
    return duration
