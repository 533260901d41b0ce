"""Triage in Slack: read a thread (which app is it about?) and answer in it through the outbox.

Reads follow Slack's limits for conversations.replies (bot/domain/read_limits.py): at most 15
messages, each thread read at most once while cached, none while a 429's Retry-After runs. The
client given here must not retry 429s itself (bootstrap builds it with `retry_rate_limits=False`):
a retry would sleep on the triage pool for what the answer can do without.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack_outbox import SlackOutbox
from bot.domain.matcher import MAX_TEXT
from bot.domain.read_limits import RATE_LIMITED, REFUSED, ReadWindow, ThreadCache, ThreadContext
from bot.domain.triage import TriageAnswer
from bot.render import triage as render

log = logging.getLogger(__name__)

# The first replies of a thread say what it is about; 15 is the most an app distributed outside
# the Marketplace may ask for (https://docs.slack.dev/reference/methods/conversations.replies,
# read 2026-07-20: "The maximum and default values for the limit parameter have both been
# reduced to 15 objects").
THREAD_MESSAGES = 15


class SlackTriageReplies:
    def __init__(
        self,
        client: WebClient,
        outbox: SlackOutbox,
        cache: ThreadCache | None = None,
        window: ReadWindow | None = None,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self.cache = cache or ThreadCache()
        self.window = window or ReadWindow()
        # One read at a time: messages of one thread arriving together wait for the first one's
        # read and find it cached, rather than spending the minute's one read each.
        self._reading = threading.Lock()

    def thread_text(self, channel: str, thread_ts: str) -> ThreadContext:
        key = (channel, thread_ts)
        cached = self.cache.get(key)
        if cached is not None:
            return ThreadContext(cached)
        with self._reading:
            cached = self.cache.get(key)
            if cached is not None:
                return ThreadContext(cached)
            if not self.window.is_open():
                log.info(
                    "thread %s in %s not read: Slack said to wait %.0f s more",
                    thread_ts,
                    channel,
                    self.window.reopens_in(),
                )
                return ThreadContext(unread=RATE_LIMITED)
            return self._read(channel, thread_ts)

    def _read(self, channel: str, thread_ts: str) -> ThreadContext:
        try:
            answer = self._client.conversations_replies(
                channel=channel, ts=thread_ts, limit=THREAD_MESSAGES
            )
        except SlackApiError as error:
            code = error.response.get("error")
            if error.response.status_code == 429 or code == "ratelimited":
                waited = self.window.close(_header(error.response.headers, "Retry-After"))
                log.warning("reading threads: rate limited by Slack for %.0f s", waited)
                return ThreadContext(unread=RATE_LIMITED)
            # No history scope, a deleted thread, a channel the bot left: answer without.
            log.warning("reading thread %s in %s: %s", thread_ts, channel, code)
            return ThreadContext(unread=REFUSED)
        messages = (answer.get("messages") or [])[:THREAD_MESSAGES]
        text = "\n".join(str(m.get("text") or "") for m in messages)[:MAX_TEXT]
        self.cache.put((channel, thread_ts), text)
        return ThreadContext(text)

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

    def thread_text(self, channel: str, thread_ts: str) -> ThreadContext:
        return ThreadContext()

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        log.info("triage answer in %s/%s: %s", channel, thread_ts, ", ".join(answer.signature_ids))


def _header(headers: object, name: str) -> str | None:
    """A response header, whatever case the server or the client library gave it."""
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) and value else value)
    return None
