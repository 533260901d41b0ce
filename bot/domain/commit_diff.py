"""What an approver reads before approving: the commits between what the environment runs now
and what would be promoted, from the app's git mirror, bounded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.models import AppSpec

SHOWN_COMMITS = 20  # listed; the rest are counted ("and N more")
SUBJECT_CHARS = 100  # of each subject (repository text: the render layer escapes it)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


@dataclass(frozen=True)
class Between:
    """`old..new` in the mirror: the first commits (newest first) and how many there are."""

    commits: tuple[Commit, ...]
    total: int
    behind: int = 0  # commits of `old` that `new` lacks (a rollback, or another branch)


@dataclass(frozen=True)
class CommitDiff:
    """The commits since what runs now, or (`note`) why there is no list."""

    running: str | None  # the SHA the environment runs now, as ecrbot recorded it
    promoted: str | None  # the SHA being promoted, as ecrbot's push of the digest recorded it
    between: Between | None = None
    note: str | None = None  # plain text: why nothing is listed


class CommitLog(Protocol):
    """The app's git history (the bot's mirror)."""

    def between(self, app: AppSpec, old: str, new: str, limit: int) -> Between | None:
        """The commits in `new` that `old` lacks, at most `limit` listed; None when the mirror
        does not know one of the two commits (even after a fetch)."""
        ...


def unknown(running: str | None, promoted: str | None, why: str) -> CommitDiff:
    return CommitDiff(running, promoted, None, why)
