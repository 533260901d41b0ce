"""Two-person approval of `/ecr promote` over signed HTTP with the Slack stand-in: staging → prod
with a second approver (the copy happens), the requester's own Approve, a stranger's and a
crafted one refused, a tag moved between the approval and the copy refused ("changed since
approval"), then asked again and copied. Measures the Approve click to the copy starting."""

from __future__ import annotations

import sqlite3
import statistics
import time
from contextlib import closing
from typing import Any

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.world import World, assert_succeeded

BOB = "U0BOB"
RELEASE_LEADS = "S0RELEASE"


def approval_message(world: World, seen: set[str]) -> dict[str, Any]:
    """The next approval request posted in a promotion's thread."""

    def find() -> dict[str, Any] | None:
        for message in world.slack.messages():
            blocks = message.get("blocks") or []
            if message["ts"] not in seen and any(b.get("block_id") == "approval" for b in blocks):
                seen.add(message["ts"])
                return message
        return None

    found: dict[str, Any] = wait_until(find, timeout=60)
    return found


def approve_value(message: dict[str, Any]) -> str:
    (block,) = [b for b in message["blocks"] if b.get("block_id") == "approval"]
    return str(block["elements"][0]["value"])


def click(world: World, message: dict[str, Any], user: str, value: str | None = None) -> str:
    """Approve as `user`; returns the ephemeral answer."""
    assert world.sender is not None
    before = len(world.slack.calls("response_url"))
    response = world.sender.block_action(
        "ecr_approve",
        value or approve_value(message),
        user_id=user,
        message_ts=message["ts"],
        block_id="approval",
        message=message,
    )
    assert response.status_code == 200, response.text

    def ephemeral() -> list[Any] | None:
        calls = world.slack.calls("response_url")[before:]
        return [c for c in calls if not c.params.get("replace_original")] or None

    return str(wait_until(ephemeral, timeout=10)[0].params.get("text"))


def stored(world: World, message: dict[str, Any]) -> dict[str, Any]:
    """The approval message as Slack holds it now."""
    return next(m for m in world.slack.messages() if m["ts"] == message["ts"])


def thread_of(world: World, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in world.slack.messages() if m.get("thread_ts") == message["thread_ts"]]


def approved_to_copy(world: World, message: dict[str, Any]) -> tuple[float, list[str]]:
    """BOB approves; (seconds from the click to the Copying reply, the thread at its end)."""
    clicked = time.monotonic()
    assert click(world, message, BOB).startswith(":white_check_mark: Approved")

    def copying() -> float | None:
        for call in world.slack.calls("chat.postMessage"):
            words = str(call.params.get("text", ""))
            ours = call.params.get("thread_ts") == message["thread_ts"]
            if ours and call.at >= clicked and words.startswith(":arrows_counterclockwise: Copy"):
                return call.at - clicked
        return None

    took = wait_until(copying, timeout=30, interval=0.01)
    end = wait_until(
        lambda: (
            (t := thread_of(world, message))[-1].startswith((":white_check_mark: P", ":x:")) and t
        ),
        timeout=60,
    )
    return took, end


def test_promotion_staging_to_prod_with_a_second_approver(world: World) -> None:
    staging, prod = f"{world.app}-staging", f"{world.app}-prod"
    world.create_repository(immutable=False)  # the home repository: a tag can move
    world.create_repository(name=staging)
    world.create_repository(name=prod)
    world.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
    world.apps[world.app]["environments"] = [
        {"name": "staging", "registry": "home", "repository": staging,
         "approvers": [RELEASE_LEADS], "approval_ttl": "10m"},
        {"name": "prod", "registry": "home", "repository": prod, "approvers": [RELEASE_LEADS]},
    ]  # fmt: skip
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    source = world.registry_tags()["1.0.0"]
    seen: set[str] = set()
    samples: list[float] = []

    # staging: asked by Alice, refused to Alice herself, to a stranger, and to a crafted value.
    assert "Promoting" in world.slash(f"promote {world.app} 1.0.0 staging").json()["text"]
    asked = approval_message(world, seen)
    assert source in str(asked["blocks"]) and "1.0.0" in str(asked["blocks"])
    assert "someone else must approve" in click(world, asked, ALICE)
    assert "may not approve" in click(world, asked, MALLORY)
    crafted = approve_value(asked).split("@")[0] + "@sha256:" + "0" * 64
    assert "not the one for the promotion" in click(world, asked, BOB, crafted)
    assert world.registry_tags(staging) == {}
    took, thread = approved_to_copy(world, asked)
    samples.append(took)
    assert thread[-1].startswith(":white_check_mark: Promoted") and source in thread[-1]
    assert world.registry_tags(staging) == {"1.0.0": source, world.sample.shas[0]: source}
    # The decided message lost its buttons and says who approved; the digest is still there.
    decided = wait_until(lambda: (m := stored(world, asked)).get("edited") and m)
    assert not [b for b in decided["blocks"] if b["type"] == "actions"]
    assert f"Approved by <@{BOB}>" in str(decided["blocks"][-1]) and source in str(decided)
    assert "already approved" in click(world, asked, BOB)  # a second click copies nothing

    # prod, from staging: approved by Bob.
    world.slash(f"promote {world.app} 1.0.0 prod")
    took, thread = approved_to_copy(world, approval_message(world, seen))
    samples.append(took)
    assert world.registry_tags(prod) == {"1.0.0": source, world.sample.shas[0]: source}

    # A tag moved between the approval request and the click: refused, nothing copied.
    image = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n"
    second, third = world.sample.commit(image, "v2"), world.sample.commit(image, "v3")
    assert_succeeded(world.wait_finished(world.push(second, "1.0.1")))
    world.slash(f"promote {world.app} 1.0.1 staging")
    asked = approval_message(world, seen)
    first = world.registry_tags()["1.0.1"]
    assert_succeeded(world.wait_finished(world.push(third, "1.0.1")))
    moved = world.registry_tags()["1.0.1"]
    assert moved != first
    assert click(world, asked, BOB).startswith(":white_check_mark: Approved")
    thread = wait_until(lambda: (t := thread_of(world, asked))[-1].startswith(":x:") and t)
    assert "changed since approval" in thread[-1] and moved in thread[-1]
    assert "1.0.1" not in world.registry_tags(staging)

    # Asked again: the new digest is approved and copied.
    world.slash(f"promote {world.app} 1.0.1 staging")
    took, thread = approved_to_copy(world, approval_message(world, seen))
    samples.append(took)
    assert world.registry_tags(staging)["1.0.1"] == moved

    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1]
    ms = [round(s * 1000) for s in samples]
    print(f"approve click to copy start: {ms} ms, p95 {p95 * 1000:.0f} ms")
    assert p95 < 1.0

    def audited() -> list[tuple[str, str]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            rows = db.execute(
                "SELECT action, outcome FROM audit_log WHERE action IN "
                "('approve', 'approval_requested', 'approval_expired') ORDER BY id"
            ).fetchall()
        return rows if len(rows) >= 12 else None

    rows = wait_until(audited, timeout=10)
    assert rows[:6] == [
        ("approval_requested", "ok"),
        ("approve", "refused"),  # Alice, the requester
        ("approve", "refused"),  # a stranger
        ("approve", "refused"),  # a crafted digest
        ("approve", "ok"),  # Bob
        ("approve", "refused"),  # the second click
    ], rows
    assert rows.count(("approval_requested", "ok")) == 4 and rows.count(("approve", "ok")) == 4


def test_an_expired_request_is_refused_and_its_message_says_so(world: World) -> None:
    staging = f"{world.app}-staging"
    world.create_repository()
    world.create_repository(name=staging)
    world.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
    world.apps[world.app]["environments"] = [
        {"name": "staging", "registry": "home", "repository": staging,
         "approvers": [RELEASE_LEADS], "approval_ttl": "1s"},
    ]  # fmt: skip
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    world.slash(f"promote {world.app} 1.0.0 staging")
    asked = approval_message(world, set())
    time.sleep(1.5)  # past the request's TTL (the click is what finds it expired)
    assert "expired" in click(world, asked, BOB).lower()
    closed = wait_until(lambda: (m := stored(world, asked)).get("edited") and m)
    assert not [b for b in closed["blocks"] if b["type"] == "actions"]
    assert "Expired" in str(closed["blocks"][-1])
    assert world.registry_tags(staging) == {}


def test_an_unanswered_request_expires_on_its_own_and_its_thread_says_so(world: World) -> None:
    staging = f"{world.app}-staging"
    world.create_repository()
    world.create_repository(name=staging)
    world.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
    world.apps[world.app]["environments"] = [
        {"name": "staging", "registry": "home", "repository": staging,
         "approvers": [RELEASE_LEADS], "approval_ttl": "2s"},
    ]  # fmt: skip
    world.start_bot(ECRBOT_APPROVAL_SWEEP_SECONDS="1")
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    world.slash(f"promote {world.app} 1.0.0 staging")
    asked = approval_message(world, set())
    # Nobody clicks: the sweep (every second) expires it once its 2 s are up.
    thread = wait_until(
        lambda: (t := thread_of(world, asked))[-1].startswith(":hourglass:") and t, timeout=30
    )
    assert "it expired, and nothing was copied" in thread[-1]

    def parent_offers() -> set[str] | None:
        (parent,) = [m for m in world.slack.messages() if m["ts"] == asked["thread_ts"]]
        blocks = parent.get("blocks") or []
        offered = {e.get("action_id") for b in blocks for e in b.get("elements") or []}
        return offered if "ecr_promotion_retry" in offered else None

    # The promotion ended with its request: the parent offers Retry, no longer Cancel.
    assert "ecr_promotion_cancel" not in wait_until(parent_offers, timeout=10)
    assert "expired" in click(world, asked, BOB).lower()  # a late click is refused
    assert world.registry_tags(staging) == {}

    def audited() -> list[tuple[str, str, str]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            rows = db.execute(
                "SELECT action, outcome, detail FROM audit_log WHERE action = 'approval_expired'"
            ).fetchall()
        return rows or None

    ((action, outcome, detail),) = wait_until(audited, timeout=10)
    assert (action, outcome) == ("approval_expired", "ok") and detail.endswith("(unanswered)")
