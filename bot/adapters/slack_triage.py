"""Triage in Slack: read a thread (which app is it about?) and answer in it through the outbox."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack_outbox import SlackOutbox
from bot.domain.matcher import MAX_TEXT
from bot.domain.triage import TriageAnswer
from bot.render import triage as render

log = logging.getLogger(__name__)

THREAD_MESSAGES = 20  # the first replies of a thread say what it is about


class SlackTriageReplies:
    def __init__(self, client: WebClient, outbox: SlackOutbox) -> None:
        self._client = client
        self._outbox = outbox

    def thread_text(self, channel: str, thread_ts: str) -> str:
        try:
            answer = self._client.conversations_replies(
                channel=channel, ts=thread_ts, limit=THREAD_MESSAGES
            )
        except SlackApiError as error:  # no history scope, a deleted thread: answer without
            log.warning("reading thread %s in %s: %s", thread_ts, channel, error.response["error"])
            return ""
        texts = [str(m.get("text") or "") for m in (answer.get("messages") or [])[:THREAD_MESSAGES]]
        return "\n".join(texts)[:MAX_TEXT]

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        def send() -> None:
            self._client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=render.headline(answer),
                blocks=render.blocks(answer),
                unfurl_links=False,
            )

        self._outbox.submit(send, critical=True)


class LoggedTriageReplies:
    """Without a Slack token (tests of the services alone): answers go to the log."""

    def thread_text(self, channel: str, thread_ts: str) -> str:
        return ""

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        log.info("triage answer in %s/%s: %s", channel, thread_ts, ", ".join(answer.signature_ids))
