"""Requests that must never reach a handler: unsigned, forged, stale, replayed, oversized."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import requests

from tests.e2e.harness import ALICE, wait_until
from tests.e2e.world import World
from tests.standins.slack_client import SlackSender, slash_command_payload


def push_body(world: World, trigger: str) -> bytes:
    text = f"push {world.app} {world.sample.shas[0][:7]}"
    fields = slash_command_payload(text, user_id=ALICE, trigger_id=trigger)
    return urlencode(fields).encode()


def refused_before_any_handler(world: World) -> None:
    """Nothing reached Slack, the job store or the worker. (The start's warm-up asks Slack's
    `auth.test` and the user-group refresher reads the catalog's groups on its own from the
    start: neither is a handler's call.)"""
    time.sleep(0.5)
    at_start = {"usergroups.users.list", "auth.test"}
    assert [c for c in world.slack.calls() if c.method not in at_start] == []
    assert world.jobs() == []


def test_unsigned_forged_stale_and_future_requests_are_refused(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sender = world.sender
    assert sender is not None
    form = "application/x-www-form-urlencoded"
    now = int(time.time())
    unsigned = requests.post(sender.url, data=push_body(world, "t1"), timeout=10)
    forged = sender.send(push_body(world, "t2"), form, signature="v0=" + "0" * 64)
    wrong_key = SlackSender(sender.url.removesuffix("/slack/events"), "not-the-secret").send(
        push_body(world, "t3"), form
    )
    stale = sender.send(push_body(world, "t4"), form, timestamp=now - 301)
    future = sender.send(push_body(world, "t5"), form, timestamp=now + 301)
    junk_ts = requests.post(
        sender.url,
        data=push_body(world, "t6"),
        headers={"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=x"},
        timeout=10,
    )
    for answer in (unsigned, forged, wrong_key, stale, future, junk_ts):
        assert answer.status_code == 401, answer.text
    refused_before_any_handler(world)
    metrics = requests.get(f"{world.bot.ops_url}/metrics", timeout=5).text  # type: ignore[union-attr]
    assert 'ecrbot_refused_requests_total{reason="bad signature or stale timestamp"} 4.0' in metrics


def test_a_replayed_request_is_refused_even_within_the_five_minutes(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sender = world.sender
    assert sender is not None
    body, ts = push_body(world, "replay-1"), int(time.time())
    signature = sender.sign(body, ts)
    first = sender.send(
        body, "application/x-www-form-urlencoded", timestamp=ts, signature=signature
    )
    again = sender.send(
        body, "application/x-www-form-urlencoded", timestamp=ts, signature=signature
    )
    assert first.status_code == 200 and "Queued" in first.json()["text"]
    assert again.status_code == 401 and again.json() == {"error": "replayed"}
    wait_until(lambda: world.jobs() or None, timeout=10)  # stored behind the ack
    time.sleep(0.5)
    assert len(world.jobs()) == 1


def test_an_oversized_body_is_refused_unread(world: World) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    huge = push_body(world, "big") + b"&padding=" + b"x" * 300_000
    answer = sender.send(huge, "application/x-www-form-urlencoded")
    assert answer.status_code == 413
    refused_before_any_handler(world)
