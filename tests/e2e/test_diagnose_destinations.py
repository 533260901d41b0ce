"""Where a diagnose checklist may go (issue #18, medium 4), driven as Slack would.

The checklist names IAM users, access-key ids, role ARNs and trust conditions. Asked for in a
channel /ecr does not answer in (the message shortcut on a message in #general), it goes to
the asker's DM and the thread gets one line; in a channel it may go to, key ids are masked.
"""

from __future__ import annotations

import json
from typing import Any

from tests.diagnose_seed import MotoSession, Platform
from tests.e2e.harness import ADMIN, wait_until
from tests.e2e.world import World
from tests.standins.slack_client import BOT_ID

GENERAL = "C0GENERAL"


def bot_messages(world: World, channel: str) -> list[dict[str, Any]]:
    return [m for m in world.slack.messages(channel) if m.get("bot_id") == BOT_ID]


def test_a_checklist_asked_for_outside_ecr_channels_goes_to_the_askers_dm(world: World) -> None:
    platform = Platform(MotoSession(world.env["AWS_ENDPOINT_URL"]), world.tmp / "platform")
    app = platform.app("dest")
    user = platform.key_user(app)
    [key] = platform.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    key_id = str(key["AccessKeyId"])
    world.apps[app.name] = app.catalog
    world.slack.add_channel(GENERAL, name="general")
    world.start_bot()
    assert world.sender is not None

    # The message shortcut on an outsider's message in #general.
    ts = world.slack.add_message(GENERAL, f"is {app.name} broken?", user="U0OUTSIDER")
    message = {"type": "message", "user": "U0OUTSIDER", "text": f"is {app.name} broken?", "ts": ts}
    answer = world.sender.message_shortcut(
        "diagnose_message", message, user_id=ADMIN, channel_id=GENERAL
    )
    assert answer.status_code == 200

    opened = world.slack.wait_for("conversations.open", timeout=60)
    assert opened.params["users"] == ADMIN
    dm = str(opened.response["channel"]["id"])
    assert dm.startswith("D")

    def dm_checklist() -> str | None:
        replies = [m for m in bot_messages(world, dm) if m.get("thread_ts")]
        return json.dumps(replies) if replies else None

    checklist = wait_until(dm_checklist, timeout=60)
    assert "keys.long_lived" in checklist and key_id in checklist  # unmasked in the DM only
    in_general = wait_until(lambda: bot_messages(world, GENERAL) or None, timeout=30)
    assert len(in_general) == 1  # one line, in the message's thread
    [verdict] = in_general
    assert verdict["thread_ts"] == ts and app.name in verdict["text"]
    assert "DM" in json.dumps(verdict["blocks"])
    everything_in_general = json.dumps(world.slack.messages(GENERAL))
    assert key_id not in everything_in_general and user not in everything_in_general

    # The same diagnose where /ecr answers: the checklist is posted there, key ids masked.
    world.slash(f"diagnose {app.name}", user=ADMIN)

    def channel_checklist() -> str | None:
        replies = [m for m in bot_messages(world, "C0PLATFORM") if m.get("thread_ts")]
        text = json.dumps(replies, ensure_ascii=False)
        return text if "keys.long_lived" in text else None

    posted = wait_until(channel_checklist, timeout=60)
    assert key_id not in posted
    assert f"{key_id[:4]}…{key_id[-4:]}" in posted
