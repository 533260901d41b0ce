"""Support requests end to end: signed Events API callbacks in, one threaded answer out.

Messages are seeded in the Slack stand-in first (as if people posted them), then delivered the
way Slack delivers them: `event_callback` envelopes with an `event_id`, retries with
`X-Slack-Retry-Num`, and both `message` and `app_mention` for a message that mentions the bot.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from tests.e2e.harness import ALICE, MALLORY, wait_until
from tests.e2e.world import World
from tests.standins.slack_api import DISTRIBUTED
from tests.standins.slack_client import BOT_ID, BOT_USER_ID, view_submission_payload

JSON = dict[str, Any]
CHANNEL = "C0PLATFORM"
ERROR = (
    "my push is broken since this morning :(\n"
    "Run docker push 123456789012.dkr.ecr.eu-west-2.amazonaws.com/{app}:1a2b3c4\n"
    "The push refers to repository [123456789012.dkr.ecr.eu-west-2.amazonaws.com/{app}]\n"
    "no basic auth credentials\n"
)


def posted(world: World, text: str, user: str = ALICE, thread_ts: str | None = None) -> JSON:
    """A message someone posts: in the stand-in's channel, and as the event Slack sends."""
    ts = world.slack.add_message(CHANNEL, text, user=user, thread_ts=thread_ts)
    event: JSON = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def answers(world: World, thread_ts: str) -> list[JSON]:
    return [
        m
        for m in world.slack.messages(CHANNEL)
        if m.get("thread_ts") == thread_ts and m.get("bot_id") == BOT_ID
    ]


def metric(world: World, name: str) -> float:
    """The sum of a metric's samples on the bot's /metrics (0 if it has none yet)."""
    assert world.bot is not None
    text = requests.get(f"{world.bot.ops_url}/metrics", timeout=5).text  # the ops port
    values = re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, flags=re.MULTILINE)
    return sum(float(value) for value in values)


def looked_at(world: World) -> int:
    """Messages triage has decided on since the bot started, whatever it decided."""
    return int(metric(world, "ecrbot_triage_messages_total"))


def settle(world: World, messages: int) -> None:
    """Wait until triage has decided on `messages` messages since the bot started and the
    bot's Slack calls have all been sent: then "no (second) answer" is an outcome, not a race
    against a sleep. Bolt drops the bot's own messages before any listener, so they never
    count."""
    wait_until(lambda: looked_at(world) >= messages, timeout=20)
    assert looked_at(world) == messages, "triage saw more messages than the test sent"
    wait_until(lambda: metric(world, "ecrbot_slack_outbox_pending") == 0, timeout=20)


def test_a_pasted_error_is_answered_once_in_its_thread_and_its_button_diagnoses(
    world: World,
) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    event = posted(world, ERROR.format(app=world.app))

    first = sender.event(event, event_id="EvTRIAGE1")
    assert first.status_code == 200 and first.elapsed.total_seconds() < 3
    [answer] = wait_until(lambda: answers(world, event["ts"]) or None, timeout=20)
    body = str(answer["blocks"])
    assert "no basic auth credentials" in answer["text"].lower() or "login" in body.lower()
    assert "get-login-password" in body  # the runbook's fix
    button = answer["blocks"][-1]["elements"][0]
    assert button["action_id"] == "ecr_run_diagnose" and button["value"] == world.app

    # Slack retries the same delivery, and the same message arrives as an app_mention too.
    sender.event(event, event_id="EvTRIAGE1", retry_num=1)
    sender.event({**event, "type": "app_mention"}, event_id="EvTRIAGE2")
    # Someone pastes the error again in the same thread.
    sender.event(posted(world, "still: no basic auth credentials", thread_ts=event["ts"]))
    settle(world, 4)  # the first delivery, its retry, the mention and the reply
    assert len(answers(world, event["ts"])) == 1

    # The button runs diagnose into the same thread.
    thread_message = {**answer, "thread_ts": event["ts"]}
    clicked = sender.block_action(
        "ecr_run_diagnose", world.app, message=thread_message, message_ts=answer["ts"]
    )
    assert clicked.status_code == 200
    wait_until(
        lambda: any(f"Diagnose *{world.app}*" in m["text"] for m in answers(world, event["ts"])),
        timeout=60,
    )


def test_a_retried_event_is_answered_once_across_a_restart(world: World) -> None:
    world.start_bot()
    event = posted(world, ERROR.format(app=world.app))
    assert world.sender is not None
    world.sender.event(event, event_id="EvRESTART1")
    wait_until(lambda: answers(world, event["ts"]) or None, timeout=20)

    world.restart_bot(15)  # SIGTERM, then the same database
    assert world.sender is not None
    world.sender.event(event, event_id="EvRESTART1", retry_num=2)
    settle(world, 1)  # the counter restarted with the bot: the retry alone
    assert len(answers(world, event["ts"])) == 1


def test_chatter_bots_edits_and_other_channels_get_no_answer(world: World) -> None:
    world.slack.add_channel("C0RANDOM", member=True)
    world.start_bot()
    sender = world.sender
    assert sender is not None
    chatter = posted(world, "how do I avoid 'no basic auth credentials' when pushing?")
    own = {**posted(world, "no basic auth credentials"), "user": BOT_USER_ID, "bot_id": BOT_ID}
    other_bot = {**posted(world, "no basic auth credentials"), "bot_id": "B0OTHER"}
    edited = {**posted(world, "x"), "subtype": "message_changed"}
    elsewhere_ts = world.slack.add_message("C0RANDOM", "no basic auth credentials")
    elsewhere = {
        "type": "message",
        "channel": "C0RANDOM",
        "user": ALICE,
        "text": "no basic auth credentials",
        "ts": elsewhere_ts,
    }
    for event in (chatter, own, other_bot, edited, elsewhere):
        assert sender.event(event).status_code == 200
    settle(world, 4)  # all but the bot's own message, which Bolt drops
    bot_replies = [m for m in world.slack.messages() if m.get("bot_id") == BOT_ID]
    assert bot_replies == []

    # In another channel the bot answers only when mentioned.
    mention = {**elsewhere, "type": "app_mention", "text": f"<@{BOT_USER_ID}> " + ERROR}
    sender.event(mention)
    wait_until(
        lambda: (
            [m for m in world.slack.messages("C0RANDOM") if m.get("thread_ts") == elsewhere_ts]
            or None
        ),
        timeout=20,
    )


def test_an_app_named_earlier_in_the_thread_and_several_apps_get_a_select(world: World) -> None:
    other = "other-" + world.app
    world.apps[other] = {"source": str(world.sample.path), "pushers": [ALICE]}
    world.start_bot()
    sender = world.sender
    assert sender is not None

    parent = posted(world, f"help with {world.app} please")
    reply = posted(world, "Error: no basic auth credentials", thread_ts=parent["ts"])
    sender.event(reply)
    [answer] = wait_until(lambda: answers(world, parent["ts"]) or None, timeout=20)
    assert answer["blocks"][-1]["elements"][0]["value"] == world.app

    # Two lines, a paste: one line of prose before the error would be chatter (issue #18).
    both = posted(
        world, f"{world.app} and {other}:\ndenied: requested access to the resource is denied"
    )
    sender.event(both)
    [answer] = wait_until(lambda: answers(world, both["ts"]) or None, timeout=20)
    picker = answer["blocks"][-1]["elements"][0]
    assert picker["type"] == "static_select"
    assert {o["value"] for o in picker["options"]} == {world.app, other}


def test_the_diagnose_button_is_refused_to_an_outsider(world: World) -> None:
    world.start_bot()
    assert world.sender is not None
    world.sender.block_action("ecr_run_diagnose", world.app, user_id=MALLORY)
    said = wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert "may not diagnose" in str(said[0].params)


def test_the_message_shortcut_diagnoses_into_the_messages_thread(world: World) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    named = posted(world, f"is {world.app} set up right?")
    answer = sender.message_shortcut("diagnose_message", named)
    assert answer.status_code == 200 and answer.elapsed.total_seconds() < 3
    wait_until(
        lambda: any(f"Diagnose *{world.app}*" in m["text"] for m in answers(world, named["ts"])),
        timeout=60,
    )

    # A reply that names no app, in a thread whose first message does.
    reply = posted(world, "same here, please check", thread_ts=named["ts"])
    world.slack.clear()
    sender.message_shortcut("diagnose_message", reply)
    wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert world.slack.count("views.open") == 0  # it knew the app: no modal

    # No app named: a modal asks, and its submission diagnoses into that thread.
    unnamed = posted(world, "is my push set up right?")
    sender.message_shortcut("diagnose_message", unnamed)
    opened = world.slack.wait_for("views.open")
    modal = opened.params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    options = modal["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == [world.app]
    values = {"app": {"app": {"type": "static_select", "selected_option": options[0]}}}
    submitted = sender.interaction(
        view_submission_payload(
            "ecr_diagnose_modal", values, private_metadata=modal["private_metadata"]
        )
    )
    assert submitted.status_code == 200 and submitted.text in ("", "{}")  # the modal closes
    wait_until(
        lambda: any(f"Diagnose *{world.app}*" in m["text"] for m in answers(world, unnamed["ts"])),
        timeout=60,
    )


def test_the_shortcut_is_refused_to_someone_who_may_diagnose_nothing(world: World) -> None:
    world.start_bot()
    assert world.sender is not None
    world.sender.message_shortcut("diagnose_message", posted(world, world.app), user_id=MALLORY)
    said = wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert "may not diagnose" in str(said[0].params)
    assert world.slack.count("views.open") == 0


# -- Slack's read limits (an app distributed outside the Marketplace: 1 read a minute, 15 max) --


def test_five_support_messages_in_one_thread_cost_one_read(world: World) -> None:
    world.slack.set_read_tier(DISTRIBUTED)
    world.start_bot()
    sender = world.sender
    assert sender is not None
    root = posted(world, f"help with {world.app} please, pushes fail since the upgrade")
    said = [
        "Error: no basic auth credentials",
        "here too:\nno basic auth credentials",
        "Error: no basic auth credentials (retried twice)",
        "denied: requested access to the resource is denied",
        "Error: no basic auth credentials\nstill failing",
    ]
    for text in said:
        sender.event(posted(world, text, thread_ts=root["ts"]))
    settle(world, len(said))
    [answer] = answers(world, root["ts"])
    assert answer["blocks"][-1]["elements"][0]["value"] == world.app  # the thread named it

    # The shortcut on the last of them needs the thread too: it is the cached read.
    last = [m for m in world.slack.messages(CHANNEL) if m.get("thread_ts") == root["ts"]][-2]
    sender.message_shortcut("diagnose_message", {**last, "channel": CHANNEL})
    wait_until(lambda: world.slack.calls("response_url") or None, timeout=10)
    assert world.slack.count("views.open") == 0  # it knew the app from the cached thread

    [read] = world.slack.calls("conversations.replies")
    assert read.status == 200 and int(read.params["limit"]) <= 15


def test_an_answer_still_goes_out_when_slack_refuses_the_thread_read(world: World) -> None:
    world.slack.set_read_tier(DISTRIBUTED)
    world.start_bot()
    sender = world.sender
    assert sender is not None
    threads = [posted(world, f"help with {world.app} please ({n})") for n in range(3)]
    for n, parent in enumerate(threads, start=1):  # one after another: the minute runs
        sender.event(posted(world, "Error: no basic auth credentials", thread_ts=parent["ts"]))
        settle(world, n)

    first, refused, skipped = (answers(world, p["ts"])[0] for p in threads)
    assert first["blocks"][-1]["elements"][0]["value"] == world.app
    for answer in (refused, skipped):  # answered, without the thread, and saying so
        assert "get-login-password" in str(answer["blocks"])
        assert "without the rest of this thread" in str(answer["blocks"])
        assert answer["blocks"][-1]["type"] == "context"  # no app was known: no button
    # The second read was refused (429 with Retry-After); the third was never tried.
    assert [c.status for c in world.slack.calls("conversations.replies")] == [200, 429]
