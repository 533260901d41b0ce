"""The health report in Slack: the top of the report with its charts as a message, every item
in `table` messages threaded under it, then the PNG and detail files when the app may upload
(files.getUploadURLExternal / files.completeUploadExternal need `files:write`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack_files import upload_to_thread
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import Refusal, SlackReplies
from bot.domain.ports import Published
from bot.render import report as render
from bot.render.report_blocks import item_tables as tables

log = logging.getLogger(__name__)


class SlackReportPoster:
    """Posts through the outbox, like job progress: 429s and outages don't lose the report."""

    def __init__(self, client: WebClient, outbox: SlackOutbox, default_channel: str | None) -> None:
        self._client = client
        self._outbox = outbox
        self._default_channel = default_channel
        self._replies = SlackReplies(outbox)

    def __call__(self, built: Published, channel: str | None, reply_url: str | None = None) -> None:
        where = channel or self._default_channel or ""
        posted: dict[str, str] = {}
        refusal = Refusal(self._replies, reply_url, where)

        def post() -> None:
            answer = self._client.chat_postMessage(
                channel=where,
                text=render.headline(built.report),
                blocks=render.slack_blocks(built.report, built.history),
            )
            posted["ts"], posted["channel"] = str(answer["ts"]), str(answer["channel"])

        def table(text: str, blocks: list[dict[str, Any]]) -> None:
            self._client.chat_postMessage(
                channel=posted.get("channel", where),
                thread_ts=posted.get("ts"),
                text=text,
                blocks=blocks,
            )

        def attach() -> None:
            try:
                upload_to_thread(
                    self._client,
                    posted.get("channel", where),
                    posted.get("ts"),
                    [
                        {
                            "content": built.chart_png,
                            "filename": "registry-report.png",
                            "title": "Storage per repository and findings trend",
                        },
                        {
                            "content": built.detail_markdown,
                            "filename": "registry-report.md",
                            "title": "Registry health report (full detail)",
                        },
                        {
                            "content": built.detail_csv,
                            "filename": "registry-report.csv",
                            "title": "Registry health report (CSV)",
                        },
                    ],
                )
            except SlackApiError as error:
                # Without `files:write` the report is still whole: its tables and charts are
                # blocks. Said once in the thread, not sent to the asker as a refusal.
                if error.response.get("error") != "missing_scope":
                    raise
                log.info("report files not attached: the app has no files:write")
                self._client.chat_postMessage(
                    channel=posted.get("channel", where),
                    thread_ts=posted.get("ts"),
                    text=render.NO_FILES,
                )

        calls: list[Callable[[], None]] = [post]
        calls += [partial(table, text, blocks) for text, blocks in tables(built.report)]
        calls.append(attach)
        for call in calls:
            self._outbox.submit(refusal.unless_refused(call), critical=True, on_refused=refusal)
