"""`/ecr promote` over signed HTTP with the Slack stand-in: an image pushed by the bot is promoted
by digest to an environment's repository in a thread (resolve, copy, verify, the target URI and
digest), again it is "already in prod" in the acknowledgement, a stranger is refused, and a lock
refuses it with who, when and why. Every request and outcome is in the audit log."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from typing import Any

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.world import World, assert_succeeded


def answer(world: World, words: str, user: str = ALICE) -> tuple[str, float]:
    started = time.monotonic()
    response = world.slash(words, user=user)
    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert took < 3
    return str(response.json().get("text", "")), took


def promotion_thread(world: World) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    for message in world.slack.messages():
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == "ecrbot_promotion" and payload.get("state") != "running":
            thread = [m for m in world.slack.messages() if m.get("thread_ts") == message["ts"]]
            if thread and thread[-1]["text"].startswith((":white_check_mark: Promoted", ":x:")):
                return message, thread
    return None


def test_promote_in_a_thread_then_already_there_and_refusals(world: World) -> None:
    prod_repo = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod_repo)
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod_repo}
    ]
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    source = world.registry_tags()["1.0.0"]

    refused, _ = answer(world, f"promote {world.app} 1.0.0 prod", user=MALLORY)
    assert "may not promote" in refused or "ask #platform-team" in refused.lower()

    accepted, _ = answer(world, f"promote {world.app} 1.0.0 prod")
    assert "Promoting" in accepted and "progress in the thread" in accepted
    parent, thread = wait_until(lambda: promotion_thread(world), timeout=60)
    host = world.env["ECR_HOST"]
    steps = [m["text"] for m in thread]
    assert steps[0].startswith(":mag: Resolved to") and source in steps[0]
    assert steps[1].startswith(":arrows_counterclockwise: Copying by digest")
    assert steps[2].startswith(":white_check_mark: Verified") and source in steps[2]
    assert f"{host}/{prod_repo}:1.0.0" in steps[3] and source in steps[3]
    assert parent["metadata"]["event_payload"]["state"] == "succeeded"
    assert parent["metadata"]["event_payload"]["digest"] == source
    assert world.registry_tags(prod_repo) == {
        "1.0.0": source,
        world.sample.shas[0]: source,
    }  # ECR: same digest, both tags

    already, took = answer(world, f"promote {world.app} 1.0.0 prod")
    assert "Already in `prod`: same digest" in already and source in already
    print(f"/ecr promote already there: {took * 1000:.0f} ms from request to answer")

    answer(world, f'lock {world.app} prod "freeze until Monday"')
    locked, _ = answer(world, f"promote {world.app} 1.0.0 prod")
    assert "are locked" in locked and "freeze until Monday" in locked and ALICE in locked

    missing, _ = answer(world, f"unlock {world.app} prod")
    missing, _ = answer(world, f"promote {world.app} 9.9.9 prod")
    assert "is not in the home registry" in missing

    def audited() -> list[tuple[str, str]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            rows = db.execute(
                "SELECT action, outcome FROM audit_log WHERE action LIKE 'promote%' ORDER BY id"
            ).fetchall()
        return rows if len(rows) >= 6 else None

    rows = wait_until(audited, timeout=10)
    assert rows == [
        ("promote", "refused"),  # the stranger
        ("promote", "ok"),
        ("promote_outcome", "ok"),  # copied, verified
        ("promote", "ok"),  # already there
        ("promote", "refused"),  # locked
        ("promote", "usage"),  # not in the source registry
    ], rows


def test_the_promote_button_on_a_finished_push_promotes_what_that_job_pushed(world: World) -> None:
    prod_repo = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod_repo)
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod_repo}
    ]
    world.start_bot()
    sender = world.sender
    assert sender is not None
    job = world.push(world.sample.shas[0], "1.0.0")
    assert_succeeded(world.wait_finished(job))
    parent = world.parent(job)
    assert parent is not None
    buttons = [
        element
        for block in parent["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    promote = next(b for b in buttons if b["action_id"] == "ecr_promote")
    assert promote["text"]["text"] == "Promote to prod" and promote["value"] == f"{job}:prod"
    assert promote["confirm"]["title"]["text"] == "Promote to prod?"

    # A crafted click naming a job that doesn't exist, or an environment the app lacks, is
    # refused in words; the image always comes from ecrbot's record of the job.
    sender.block_action("ecr_promote", f"{job + 1000}:prod", user_id=ALICE)
    sender.block_action("ecr_promote", f"{job}:qa", user_id=ALICE)
    said = wait_until(lambda: world.slack.calls("response_url")[1:] or None, timeout=10)
    told = " ".join(str(call.params) for call in world.slack.calls("response_url"))
    assert f"There is no job {job + 1000}" in told and "has no environment" in told, said

    world.slack.clear()
    answer = sender.block_action("ecr_promote", promote["value"], user_id=ALICE,
                                 message_ts=parent["ts"])  # fmt: skip
    assert answer.status_code == 200
    accepted = wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert "Promoting" in str(accepted[0].params)
    _, thread = wait_until(lambda: promotion_thread(world), timeout=60)
    source = world.registry_tags()["1.0.0"]
    assert thread[-1]["text"].startswith(":white_check_mark: Promoted") and source in str(thread)
    assert world.registry_tags(prod_repo) == {
        "1.0.0": source,
        world.sample.shas[0]: source,
    }  # both tags, by digest


def test_app_home_lists_locks_and_its_promote_form_promotes(world: World) -> None:
    from tests.e2e.test_home import home_event, view_of
    from tests.standins.slack_client import home_action_payload, view_submission_payload

    prod_repo = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod_repo)
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod_repo}
    ]
    world.start_bot()
    sender = world.sender
    assert sender is not None
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    answer(world, f'lock {world.app} prod "release freeze"')

    sender.event(home_event(ALICE))
    home = json.dumps(view_of(world.slack.wait_for("views.publish")))
    assert "ecr_home_promote" in home and "release freeze" in home and "*Locks*" in home

    sender.interaction(home_action_payload("ecr_home_promote", "promote"))
    modal = view_of(world.slack.wait_for("views.open"))
    target = next(b for b in modal["blocks"] if b["block_id"] == "target")
    assert [o["value"] for o in target["element"]["options"]] == [f"{world.app}:prod"]

    def submit(ref: str) -> Any:
        values = {
            "target": {"target": {"type": "static_select",
                                  "selected_option": {"value": f"{world.app}:prod"}}},
            "ref": {"ref": {"type": "plain_text_input", "value": ref}},
        }  # fmt: skip
        return sender.interaction(view_submission_payload("ecr_promote_modal", values))

    locked = submit("1.0.0").json()
    assert locked["response_action"] == "errors" and "locked" in locked["errors"]["target"]
    answer(world, f"unlock {world.app} prod")
    bad_ref = submit("no such/ref!").json()
    assert "not a version or SHA tag" in bad_ref["errors"]["ref"]
    assert submit("1.0.0").text in ("", "{}")  # the modal closes
    _, thread = wait_until(lambda: promotion_thread(world), timeout=60)
    source = world.registry_tags()["1.0.0"]
    assert thread[-1]["text"].startswith(":white_check_mark: Promoted") and source in str(thread)
    dm = wait_until(
        lambda: [m for m in world.slack.calls("chat.postMessage")
                 if m.params.get("channel") == ALICE and "Promoting" in str(m.params)] or None
    )  # fmt: skip
    assert dm
