"""Promotions in `/ecr jobs` and App Home over signed HTTP (issue #16): a promotion waiting for
its approver is listed with who may approve and a link to its thread, then as succeeded and
approved by whom; someone the jobs rule keeps out does not see it; the Home tab Slack is given
(views.publish, recorded by the stand-in) shows the same."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.test_approvals import BOB, RELEASE_LEADS, approval_message, approved_to_copy
from tests.e2e.test_home import home_event, view_of
from tests.e2e.world import World, assert_succeeded


def promotions_of(world: World, user: str = ALICE) -> list[str]:
    """`/ecr jobs` as `user`: the lines after the promotions' heading."""
    response = world.slash("jobs", user=user)
    assert response.status_code == 200 and response.elapsed.total_seconds() < 3
    texts = [b["text"]["text"] for b in response.json()["blocks"] if b["type"] == "section"]
    heading = next(i for i, t in enumerate(texts) if t.startswith("*Recent promotions*"))
    return texts[heading + 1 :] or texts[heading:]


def published_home(world: World, user: str) -> str:
    """Open `user`'s Home tab; the view Slack was given, as JSON text."""
    assert world.sender is not None
    before = len(world.slack.calls("views.publish"))
    world.sender.event(home_event(user))

    def newer() -> Any:
        calls = world.slack.calls("views.publish")[before:]
        return next((c for c in calls if c.params.get("user_id") == user), None)

    return json.dumps(view_of(wait_until(newer, timeout=15)), ensure_ascii=False)


def test_a_promotion_is_listed_in_jobs_and_app_home_from_request_to_approval(world: World) -> None:
    staging = f"{world.app}-staging"
    world.create_repository()
    world.create_repository(name=staging)
    world.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
    world.apps[world.app]["environments"] = [
        {"name": "staging", "registry": "home", "repository": staging,
         "approvers": [RELEASE_LEADS], "approval_ttl": "10m"},
    ]  # fmt: skip
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    assert "No promotions yet" in promotions_of(world)[0]

    assert "Promoting" in world.slash(f"promote {world.app} 1.0.0 staging").json()["text"]
    asked = approval_message(world, set())
    (waiting,) = promotions_of(world)
    assert f"*{world.app}* `1.0.0` · home → staging" in waiting
    assert f"awaiting approval by <!subteam^{RELEASE_LEADS}>" in waiting
    assert waiting.endswith(f"asked by <@{ALICE}>")
    # The link is the thread's permalink, as Slack (the stand-in) gave it.
    thread = asked["thread_ts"].replace(".", "")
    assert ".slack.com/archives/" in waiting and f"/p{thread}|promotion>" in waiting
    assert "No promotions yet" in promotions_of(world, MALLORY)[0]  # the jobs rule keeps him out

    home = published_home(world, ALICE)
    assert (
        "*Recent promotions*" in home and f"awaiting approval by <!subteam^{RELEASE_LEADS}>" in home
    )
    assert f"<!subteam^{RELEASE_LEADS}> may Approve or Reject in its thread" in home

    _, ended = approved_to_copy(world, asked)
    assert ended[-1].startswith(":white_check_mark: Promoted")
    (done,) = promotions_of(world)
    assert "· succeeded `sha256:" in done and f"approved by <@{BOB}>" in done
    home = published_home(world, ALICE)
    assert f"approved by <@{BOB}>" in home and "awaiting approval" not in home


def test_a_rejected_promotion_says_who_rejected_it(world: World) -> None:
    staging = f"{world.app}-staging"
    world.create_repository()
    world.create_repository(name=staging)
    world.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
    world.apps[world.app]["environments"] = [
        {"name": "staging", "registry": "home", "repository": staging,
         "approvers": [RELEASE_LEADS]},
    ]  # fmt: skip
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    world.slash(f"promote {world.app} 1.0.0 staging")
    asked = approval_message(world, set())
    assert world.sender is not None
    block = next(b for b in asked["blocks"] if b.get("block_id") == "approval")
    value = next(e["value"] for e in block["elements"] if e["action_id"] == "ecr_reject")
    response = world.sender.block_action(
        "ecr_reject", value, user_id=BOB, message_ts=asked["ts"], block_id="approval",
        message=asked,
    )  # fmt: skip
    assert response.status_code == 200

    def rejected() -> str | None:
        (line,) = promotions_of(world)
        return line if "rejected by" in line else None

    assert f"rejected by <@{BOB}>" in wait_until(rejected, timeout=15)
    assert f"rejected by <@{BOB}>" in published_home(world, ALICE)
