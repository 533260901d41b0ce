"""A promotion's Cancel and Retry over signed HTTP with the Slack stand-in, an approval that
outlives a restart, and the commits an approval request lists (from the git mirror, escaped).
Every click is audited, the refused ones as `refused`."""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from typing import Any

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.test_approvals import BOB, RELEASE_LEADS, approval_message, click, thread_of
from tests.e2e.world import World, assert_succeeded

IMAGE = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n"


def parent_of(world: World, ts: str | None = None, state: str | None = None) -> dict[str, Any]:
    """The newest promotion parent (or the one at `ts`), once its state is `state`."""

    def find() -> dict[str, Any] | None:
        for message in reversed(world.slack.messages()):
            meta = message.get("metadata") or {}
            if meta.get("event_type") != "ecrbot_promotion" or (ts and message["ts"] != ts):
                continue
            payload = meta.get("event_payload") or {}
            return message if state is None or payload.get("state") == state else None
        return None

    found: dict[str, Any] = wait_until(find, timeout=60)
    return found


def button(message: dict[str, Any], action_id: str) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    return None


def press(world: World, message: dict[str, Any], action_id: str, user: str) -> str:
    """Click a promotion parent's button as `user`; returns the ephemeral answer."""
    assert world.sender is not None
    value = button(message, action_id)
    assert value is not None, message
    before = len(world.slack.calls("response_url"))
    response = world.sender.block_action(
        action_id, value, user_id=user, message_ts=message["ts"], block_id="promotion",
        message=message,
    )  # fmt: skip
    assert response.status_code == 200, response.text

    def ephemeral() -> list[Any] | None:
        calls = world.slack.calls("response_url")[before:]
        return [c for c in calls if not c.params.get("replace_original")] or None

    return str(wait_until(ephemeral, timeout=15)[0].params.get("text"))


def audited(world: World, actions: tuple[str, ...], count: int) -> list[tuple[str, str]]:
    def rows() -> list[tuple[str, str]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            every = db.execute("SELECT action, outcome FROM audit_log ORDER BY id").fetchall()
        found = [row for row in every if row[0] in actions]
        return found if len(found) >= count else None

    found: list[tuple[str, str]] = wait_until(rows, timeout=15)
    return found


def test_cancel_by_the_requester_an_outsider_refused_then_retry(world: World) -> None:
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
    parent = parent_of(world, asked["thread_ts"])
    assert button(parent, "ecr_promotion_cancel") and not button(parent, "ecr_promotion_retry")

    refused = press(world, parent, "ecr_promotion_cancel", MALLORY)
    assert "You may not cancel the promotion" in refused
    assert "Cancelled the promotion" in press(world, parent, "ecr_promotion_cancel", ALICE)
    thread = wait_until(lambda: (t := thread_of(world, asked))[-1].startswith(":octagonal") and t)
    assert f"Cancelled by <@{ALICE}>" in thread[-1]
    cancelled = parent_of(world, parent["ts"], state="cancelled")
    assert button(cancelled, "ecr_promotion_retry") and not button(
        cancelled, "ecr_promotion_cancel"
    )
    assert "already cancelled" in click(world, asked, BOB)  # its Approve no longer copies
    assert world.registry_tags(staging) == {}

    # Retry: refused to an outsider, then asked again by Alice through the same checks.
    assert "may not promote" in press(world, cancelled, "ecr_promotion_retry", MALLORY)
    assert "Promoting" in press(world, cancelled, "ecr_promotion_retry", ALICE)
    seen = {asked["ts"]}
    again = approval_message(world, seen)
    assert again["thread_ts"] != asked["thread_ts"]  # a new promotion, its own thread
    assert click(world, again, BOB).startswith(":white_check_mark: Approved")
    parent_of(world, again["thread_ts"], state="succeeded")
    assert set(world.registry_tags(staging)) == {"1.0.0", world.sample.shas[0]}
    rows = audited(world, ("cancel_promotion", "retry_promotion"), 4)
    assert rows == [
        ("cancel_promotion", "refused"),
        ("cancel_promotion", "ok"),
        ("retry_promotion", "refused"),
        ("retry_promotion", "ok"),
    ], rows


def test_a_failed_promotion_is_retried_and_succeeds(world: World) -> None:
    prod = f"{world.app}-prod"
    world.create_repository()  # prod's repository is missing: the copy fails
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod}
    ]
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    world.slash(f"promote {world.app} 1.0.0 prod")
    failed = parent_of(world, state="failed")
    assert button(failed, "ecr_promotion_retry")
    world.create_repository(name=prod)
    assert "Promoting" in press(world, failed, "ecr_promotion_retry", ALICE)
    done = parent_of(world, state="succeeded")
    assert done["ts"] != failed["ts"]
    assert done["metadata"]["event_payload"]["digest"] == world.registry_tags()["1.0.0"]
    assert "already retried" in press(world, failed, "ecr_promotion_retry", ALICE)


def test_an_approval_outlives_a_restart_and_the_next_request_lists_the_commits(
    world: World,
) -> None:
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
    seen: set[str] = set()
    world.slash(f"promote {world.app} 1.0.0 staging")
    first = approval_message(world, seen)
    assert "nothing ecrbot promoted runs in staging yet" in str(first["blocks"])

    world.restart_bot(signal.SIGKILL)  # the approval is in the database, not in memory
    assert click(world, first, BOB).startswith(":white_check_mark: Approved")
    parent_of(world, first["thread_ts"], state="succeeded")
    assert "1.0.0" in world.registry_tags(staging)

    hostile = "<!channel> & <@U0BOSS> take `this`"
    middle = world.sample.commit(IMAGE, hostile)
    last = world.sample.commit(IMAGE, "second change")
    assert_succeeded(world.wait_finished(world.push(last, "1.0.1")))
    world.slash(f"promote {world.app} 1.0.1 staging")
    listed = str(approval_message(world, seen)["blocks"])
    assert "Commits since what runs there now" in listed and ", 2)" in listed
    assert middle[:10] in listed and last[:10] in listed and "second change" in listed
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in listed and "<!channel>" not in listed
