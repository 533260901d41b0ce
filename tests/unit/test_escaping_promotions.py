"""The renderers a promotion's Cancel, Retry and the approval's commit list added, attacked the
way tests/unit/test_escaping.py attacks every other: hostile text in every string field."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings

from bot.domain.approvals import ApprovalState
from bot.domain.commit_diff import Between, Commit, CommitDiff
from bot.domain.promotion import PromotionRequest
from bot.domain.promotion_runs import ListedPromotion, PromotionRun, RunState
from bot.render import approval, promotion, promotion_list
from bot.render.ids import ActionId
from tests.unit.test_escaping import HOSTILE, assert_safe, mrkdwn_of, slots

REQUEST = PromotionRequest("my-app", "1.4.0", "prod", "U0ALICE", "C0", id="r1")
RUN = PromotionRun("r1", "my-app", "1.4.0", "prod", "U0ALICE", "C0", RunState.RUNNING,
                   datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
WAITING = ListedPromotion(
    dataclasses.replace(RUN, state=RunState.AWAITING, thread_ts="1.2"),
    "staging",
    "staging",
    "prod-eu",
    ApprovalState.PENDING,
    approvers=("S0LEADS", "U0BOB"),
    link="https://x.slack.com/a/p1",
)
DECIDED = ListedPromotion(
    dataclasses.replace(RUN, state=RunState.FAILED),
    "staging",
    approval=ApprovalState.REJECTED,
    decided_by="U0BOB",
)
DIFF = CommitDiff("1" * 40, "2" * 40, Between((Commit("a" * 40, "fix the thing"),), 30, 2))


def parent(request: PromotionRequest, offer: ActionId) -> Any:
    return promotion.parent(request, "s", offer)[1]


RENDERERS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "approval.commits": (DIFF, approval.commits),
    "approval.commits[note]": (dataclasses.replace(DIFF, between=None, note="n"), approval.commits),
    "promotion_list.blocks[waiting]": (WAITING, lambda p: promotion_list.blocks([p])),
    "promotion_list.home_blocks[decided]": (DECIDED, lambda p: promotion_list.home_blocks((p,))),
    "promotion.cancelled": (REQUEST, lambda r: promotion.cancelled(r, "U0BOB")),
    "promotion.cancel_requested": (RUN, promotion.cancel_requested),
    "promotion.parent[cancel]": (REQUEST, lambda r: parent(r, ActionId.PROMOTION_CANCEL)),
    "promotion.parent[retry]": (REQUEST, lambda r: parent(r, ActionId.PROMOTION_RETRY)),
}


@settings(max_examples=25, deadline=None)
@given(hostile=HOSTILE)
def test_no_control_sequence_survives_the_promotion_renderers(hostile: str) -> None:
    for name, (obj, render) in RENDERERS.items():
        for path, set_ in slots(obj):
            benign = mrkdwn_of(render(set_("v")))
            rendered = mrkdwn_of(render(set_(hostile)))
            assert_safe(rendered, benign, f"{name} {path}")


def test_the_commit_subjects_are_attacked() -> None:
    paths = {path for obj, _ in RENDERERS.values() for path, _ in slots(obj)}
    assert any("subject" in path for path in paths), paths
