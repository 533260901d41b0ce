"""The commits an approver reads: from ecrbot's records (what the environment runs, which commit
built each digest) through the git mirror, bounded and escaped where they become Slack text."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.promotion_store import MemoryPromotionRunStore
from bot.domain.commit_diff import Between, Commit, CommitDiff
from bot.domain.models import AppSpec
from bot.domain.promotion import ImageRef, PromotionPlan
from bot.domain.promotion_runs import PromotionRun, RunState
from bot.render import approval as render
from bot.services.commit_diffs import CommitDiffs
from tests.unit.test_promotion_requests import APP, DIGEST, HOME_REGISTRY, PROD

RUNNING = "sha256:" + "b" * 64
OLD, NEW = "1" * 40, "2" * 40
PLAN = PromotionPlan("my-app", ImageRef(HOME_REGISTRY, "my-app", DIGEST), PROD, ("1.0.0",))
HOSTILE = "<!channel> fix & <@U0BOSS> <https://evil|click> ```x"


class History:
    def __init__(self, total: int = 3, known: bool = True) -> None:
        self.total, self.known, self.asked = total, known, []  # type: ignore[var-annotated]

    def between(self, app: AppSpec, old: str, new: str, limit: int) -> Between | None:
        self.asked.append((old, new, limit))
        if not self.known:
            return None
        listed = tuple(Commit(f"{i:040x}", f"{HOSTILE} {i}") for i in range(min(limit, self.total)))
        return Between(listed, self.total)


def diffs(history: History, promoted_before: bool = True) -> CommitDiffs:
    runs = MemoryPromotionRunStore()
    if promoted_before:
        at = datetime(2026, 3, 1, tzinfo=UTC)
        runs.add(PromotionRun("r0", "my-app", "0.9.0", "prod", "U0A", None, RunState.SUCCEEDED,
                              at, digest=RUNNING))  # fmt: skip
    built = {RUNNING: OLD, DIGEST: NEW}
    return CommitDiffs({"my-app": APP}.get, runs, lambda app, d: built.get(d), history)


def test_the_commits_since_what_runs_now_are_read_from_the_mirror_bounded() -> None:
    history = History(total=25)
    diff = diffs(history).since_running(PLAN)
    assert history.asked == [(OLD, NEW, 20)]
    assert diff.running == OLD and diff.promoted == NEW and diff.between is not None
    words = render.commits(diff)
    assert words.count("\n• ") == 20 and "… and 5 more" in words
    # A repository's words: no mention, no link, no code fence survives.
    assert "<!channel>" not in words and "<@U0BOSS>" not in words and "<https" not in words
    assert "&lt;!channel&gt; fix &amp;" in words and "```" not in words
    assert len(words) <= 3000


def test_nothing_promoted_yet_or_a_mirror_that_cant_tell_is_said() -> None:
    nothing = diffs(History(), promoted_before=False).since_running(PLAN)
    assert nothing.between is None and "nothing ecrbot promoted runs in prod yet" in str(
        nothing.note
    )
    assert "yet" in render.commits(nothing)
    unknown = diffs(History(known=False)).since_running(PLAN)
    assert "the git mirror can't tell" in render.commits(unknown)
    assert "not read" in render.commits(None)


def test_long_subjects_full_of_ampersands_still_fit_a_section() -> None:
    subject = "&" * 500
    many = tuple(Commit(f"{i:040x}", subject) for i in range(20))
    words = render.commits(CommitDiff(OLD, NEW, Between(many, 20)))
    assert len(words) <= 3000 and "more" in words
