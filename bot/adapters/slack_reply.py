"""Ephemeral answers to the person who asked, through the request's `response_url`.

When Slack refuses to let the bot post in a channel (a private channel it was never invited to,
a DM, an archived channel, a missing scope), this is the one way left to tell the asker, and it
needs no scope and no membership.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.webhook import WebhookClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.render import common

log = logging.getLogger(__name__)


class SlackReplies:
    """Sends through the outbox, so a 5xx or a network error is retried like any Slack call."""

    def __init__(self, outbox: SlackOutbox) -> None:
        self._outbox = outbox

    def tell(self, url: str | None, text: str) -> None:
        if not url:
            log.warning("nobody to tell (no response_url): %s", text[:200])
            return

        def send() -> None:
            answer = WebhookClient(url, timeout=10).send(
                text=text, response_type="ephemeral", replace_original=False
            )
            if answer.status_code >= 500:
                raise OSError(f"response_url answered {answer.status_code}")  # retried
            if answer.status_code != 200:  # expired (30 minutes, 5 uses) or unknown
                log.warning("response_url refused the message: %s", answer.status_code)

        self._outbox.submit(send, critical=True)


class Refusal:
    """One conversation's refusal: the asker is told once, the calls after it are skipped."""

    def __init__(self, replies: SlackReplies, reply_url: str | None, channel: str) -> None:
        self._replies = replies
        self._reply_url = reply_url
        self._channel = channel
        self.error: str | None = None

    def __call__(self, error: str) -> None:
        if self.error is None:
            self.error = error
            self._replies.tell(self._reply_url, common.cant_post(self._channel, error))

    def unless_refused(self, call: Callable[[], None]) -> Callable[[], None]:
        def guarded() -> None:
            if self.error is None:
                call()

        return guarded
