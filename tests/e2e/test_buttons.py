"""Buttons behave like the commands they stand for: one push per Retry button however often it
is clicked, and a stale Cancel says the job already ended."""

from __future__ import annotations

from tests.e2e.harness import ADMIN, ALICE, wait_until
from tests.e2e.world import World


def test_a_double_clicked_retry_starts_one_push_and_a_stale_cancel_says_so(world: World) -> None:
    world.create_repository(immutable=False)
    world.start_bot()
    sender = world.sender
    assert sender is not None
    job = world.push(world.sample.shas[0])
    world.wait_finished(job)
    parent = world.parent(job)
    assert parent is not None

    for _ in range(2):  # two clicks on the same message: each its own action_ts
        answer = sender.block_action("ecr_retry", str(job), user_id=ALICE, message_ts=parent["ts"])
        assert answer.status_code == 200
    wait_until(lambda: [j for j in world.jobs() if j["id"] > job] or None, timeout=30)
    said = wait_until(
        lambda: [c for c in world.slack.calls("response_url") if "job" in str(c.params)][1:] or None
    )
    assert len([j for j in world.jobs() if j["id"] > job]) == 1
    assert "already" in str(said[0].params).lower()  # the second click finds the first's job

    world.slack.clear()
    sender.block_action("ecr_cancel", str(job), user_id=ALICE, message_ts=parent["ts"])
    told = wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert f"Job {job} already succeeded" in str(told[0].params)


def test_a_diagnose_button_for_an_app_that_left_the_catalog_says_so(world: World) -> None:
    world.start_bot()
    assert world.sender is not None
    world.sender.block_action("ecr_run_diagnose", "gone-app", user_id=ADMIN)
    told = wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert "There is no app called `gone-app`" in str(told[0].params)
