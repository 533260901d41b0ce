"""Events API: support messages (triage) and the App Home tab. Bolt acknowledges events
itself; these listeners only hand the event to a service, which works off the request thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext

from bot.domain.triage import ChatMessage
from bot.render.escape import unescape
from handlers.middleware import services_of


def message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """`message.channels`: a message in a public channel the bot is in."""
    _triage(event, body, context, mentioned=False)


def app_mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """`app_mention`: someone wrote @ecrbot, in any channel the bot is in."""
    _triage(event, body, context, mentioned=True)


def home_opened(event: dict[str, Any], context: BoltContext) -> None:
    if event.get("tab") == "home" and event.get("user"):
        services_of(context).home.show(str(event["user"]))


def user_group_changed(event: dict[str, Any], context: BoltContext) -> None:
    """`subteam_members_changed`, `subteam_updated`: who may push changes now, not at the
    next refresh (a removal above all)."""
    services_of(context).groups_changed(event)


def _triage(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, *, mentioned: bool
) -> None:
    services_of(context).triage.accept(
        str(body.get("event_id") or ""),
        chat_message(event),
        bot_user=context.bot_user_id,
        mentioned=mentioned,
    )


def chat_message(event: dict[str, Any]) -> ChatMessage:
    """The fields triage reads; the text as the person typed it (Slack escapes & < >)."""
    return ChatMessage(
        channel=str(event.get("channel") or ""),
        ts=str(event.get("ts") or ""),
        text=unescape(str(event.get("text") or "")),
        user=event.get("user"),
        thread_ts=event.get("thread_ts"),
        subtype=event.get("subtype"),
        bot_id=event.get("bot_id"),
    )
