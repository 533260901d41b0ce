"""App Home in Slack: views.publish through the outbox, with links to each job's and
promotion's thread (also `/ecr jobs`'s, through `permalink`)."""

from __future__ import annotations

import logging
from collections import OrderedDict

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack_outbox import SlackOutbox
from bot.domain.home import HomeView
from bot.domain.models import Job
from bot.render import home as render

log = logging.getLogger(__name__)

MAX_LINKS = 2_000  # permalinks remembered: a thread's link never changes


class SlackHome:
    def __init__(self, client: WebClient, outbox: SlackOutbox) -> None:
        self._client = client
        self._outbox = outbox
        self._links: OrderedDict[tuple[str, str], str] = OrderedDict()

    def publish(self, view: HomeView) -> None:
        def send() -> None:
            self._client.views_publish(user_id=view.user, view=render.home(view, self._link))

        # A person opening the tab twice quickly gets one publish, of the newer view.
        self._outbox.submit(send, key=f"home:{view.user}")

    def _link(self, job: Job) -> str | None:
        if not job.channel or not job.thread_ts:
            return None
        return self.permalink(job.channel, job.thread_ts)

    def permalink(self, channel: str, thread_ts: str) -> str | None:
        """The URL of a thread's parent message (None: Slack refused), remembered."""
        key = (channel, thread_ts)
        if key not in self._links:
            try:
                answer = self._client.chat_getPermalink(channel=key[0], message_ts=key[1])
            except SlackApiError as error:
                log.warning("permalink of %s: %s", thread_ts[:32], error.response.get("error"))
                return None
            self._links[key] = str(answer.get("permalink") or "")
            if len(self._links) > MAX_LINKS:
                self._links.popitem(last=False)
        return self._links[key] or None
