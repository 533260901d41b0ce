"""The health report in Slack: the top of the report as a message, the chart and detail files
threaded under it (files.getUploadURLExternal / files.completeUploadExternal)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.slack_files import upload_to_thread
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import Refusal, SlackReplies
from bot.domain.ports import Published
from bot.render import report as render


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
                blocks=render.slack_blocks(built.report),
            )
            posted["ts"], posted["channel"] = str(answer["ts"]), str(answer["channel"])

        def attach() -> None:
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

        for call in (post, attach):
            self._outbox.submit(refusal.unless_refused(call), critical=True, on_refused=refusal)
