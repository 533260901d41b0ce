"""Block Kit output as golden JSON: a change to a message shows up as a diff in review.

Regenerate after an intended change: `ECRBOT_UPDATE_GOLDEN=1 pytest tests/unit/test_render.py`;
that run writes the files and fails, and the next run without it checks them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.approvals import ApprovalState
from bot.domain.models import Failure, Job, JobState, PushResult, Step
from bot.domain.promotion_runs import ListedPromotion, PromotionRun, RunState
from bot.render import common
from bot.render import push as render
from tests.golden import check_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
URI = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/my-app"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def job(state: JobState, **extra: Any) -> Job:
    return Job(
        42,
        "my-app",
        "1a2b3c4",
        "1.4.0",
        "U0ALICE",
        "C0PLATFORM",
        state,
        T0,
        started_at=T0,
        finished_at=T0,
        **extra,
    )


CASES: dict[str, Any] = {
    "parent_running": render.parent(job(JobState.RUNNING)),
    "parent_waiting": render.parent(job(JobState.QUEUED), waiting_behind=41),
    "parent_succeeded": render.parent(
        job(
            JobState.SUCCEEDED,
            result=PushResult(
                (f"{URI}:{SHA}", f"{URI}:1.4.0"),
                "sha256:" + "d" * 64,
                1_234_567,
                3.4,
                SHA,
                True,
                ("`1.4.0` moves from sha256:aaaa (ffff) to this build",),
            ),
        )
    ),
    "parent_failed": render.parent(
        job(
            JobState.FAILED,
            failure=Failure(
                Step.BUILD,
                "A RUN step in the Dockerfile failed",
                "A command exited.",
                "Reproduce with `docker build .`.",
                ("Step 3/3 : RUN make", "make: *** 2"),
            ),
        )
    ),
    "parent_interrupted": render.parent(job(JobState.INTERRUPTED)),
    "jobs": render.jobs_table([job(JobState.SUCCEEDED), job(JobState.FAILED)]),
    "jobs_with_promotions": render.jobs_table(
        [job(JobState.SUCCEEDED)],
        [
            ListedPromotion(
                PromotionRun(
                    "p1", "my-app", "1.4.0", "prod", "U0ALICE", "C0PLATFORM", RunState.AWAITING, T0
                ),
                "staging",
                "staging",
                "prod",
                approval=ApprovalState.PENDING,
                expires_at=T0,
                approvers=("S0LEADS",),
                link="https://x.slack.com/archives/C0/p1",
            ),
            ListedPromotion(
                PromotionRun(
                    "p0", "my-app", "1.3.0", "staging", "U0BOB", None, RunState.FAILED, T0
                ),
                "home",
                "home",
                "staging",
                approval=ApprovalState.REJECTED,
                decided_by="U0CAROL",
            ),
        ],
    ),
    "help": common.help_blocks(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocks_match_golden(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    actual = json.dumps(CASES[name], indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    check_golden(path, actual)


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocks_are_valid_block_kit(name: str) -> None:
    for block in CASES[name]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert len(CASES[name]) <= 50


def test_a_huge_log_tail_stays_within_slacks_section_limit() -> None:
    failure = Failure(Step.BUILD, "t", "e", "f", tuple("x" * 200 for _ in range(500)))
    for block in render.parent(job(JobState.FAILED, failure=failure)):
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
