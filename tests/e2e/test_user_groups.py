"""User groups never hold an acknowledgement (issue #18, medium 5): with 40 catalog groups and
Slack answering 429 to every usergroups.users.list, `/ecr push no-such-app` is answered at once."""

from __future__ import annotations

import time

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.world import World

GROUPS = [f"S0GROUP{i:02d}" for i in range(40)]


def rate_limited_catalog(world: World) -> None:
    """40 apps, each pushed by its own user group; Slack refuses every group read with 429."""
    for index, group in enumerate(GROUPS):
        world.apps[f"app-{index:02d}"] = {"source": str(world.sample.path), "pushers": [group]}
        world.slack.set_usergroup(group, [ALICE])
    world.slack.fail_next("usergroups.users.list", status=429, times=100_000, retry_after=30)


def test_push_of_an_unknown_app_is_acknowledged_at_once_while_slack_answers_429(
    world: World,
) -> None:
    rate_limited_catalog(world)
    world.start_bot()
    acks = []
    for _ in range(3):
        started = time.monotonic()
        response = world.slash("push no-such-app abc1234", user=MALLORY)
        acks.append(time.monotonic() - started)
        assert response.status_code == 200
        assert "no-such-app" in response.text
    assert max(acks) < 1.0, acks
    # One refresher per process, paced for Tier 2, and no 429 slept through: a handful of
    # calls in all, not one per group per request (62 for one command before).
    assert world.slack.count("usergroups.users.list") <= 3


def test_a_group_change_event_takes_effect_without_a_read(world: World) -> None:
    world.start_bot()
    # The refresher has read the app team (ALICE); the event removes her.
    wait_until(lambda: world.slack.count("usergroups.users.list") >= 2, timeout=20)
    world.slack.fail_next("usergroups.users.list", status=429, times=100_000, retry_after=30)
    assert world.sender is not None
    world.sender.event(
        {
            "type": "subteam_members_changed",
            "subteam_id": "S0APPTEAM",
            "removed_users": [ALICE],
            "added_users": [],
        }
    )
    response = wait_until(
        lambda: (r := world.slash(f"push {world.app} abc1234")) and "may not" in r.text and r
    )
    assert "may not push" in response.text
