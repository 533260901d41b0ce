"""The commits an approver reads: from what the environment runs now to what is promoted.

Both SHAs come from ecrbot's own records, never from a registry's tags (anyone who can push a
tag could name a commit there): what the environment runs is the digest of the last promotion
ecrbot made there that succeeded, and each digest's commit is the one ecrbot's push of it built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.domain.commit_diff import SHOWN_COMMITS, CommitDiff, CommitLog, unknown
from bot.domain.models import AppSpec
from bot.domain.promotion import PromotionPlan
from bot.domain.promotion_runs import PromotionRunStore

log = logging.getLogger(__name__)


class CommitDiffs:
    """`since_running(plan)`: the commits since what the plan's environment runs now."""

    def __init__(
        self,
        apps: Callable[[str], AppSpec | None],
        runs: PromotionRunStore,
        built_from: Callable[[str, str], str | None],
        history: CommitLog,
        shown: int = SHOWN_COMMITS,
    ) -> None:
        self._apps = apps
        self._runs = runs
        self._built_from = built_from  # (app, digest) -> the full SHA ecrbot's push built
        self._history = history
        self._shown = shown

    def since_running(self, planned: PromotionPlan) -> CommitDiff:
        env = planned.target.name
        new = self._built_from(planned.app, planned.digest)
        last = self._runs.last_succeeded(planned.app, env)
        if last is None or last.digest is None:
            return unknown(None, new, f"nothing ecrbot promoted runs in {env} yet")
        old = self._built_from(planned.app, last.digest)
        if old is None or new is None:
            which = "what runs there now" if old is None else "the image being promoted"
            return unknown(old, new, f"ecrbot has no record of the commit {which} was built from")
        if old == new:
            return unknown(old, new, f"{env} runs an image of the same commit")
        app = self._apps(planned.app)
        try:
            between = self._history.between(app, old, new, self._shown) if app else None
        except Exception as error:  # git failing must not stop the approval request
            log.warning("commits of %s not read: %s", planned.app, type(error).__name__)
            between = None
        if between is None:
            return unknown(old, new, "the git mirror can't tell (a commit is missing from it)")
        return CommitDiff(old, new, between)
