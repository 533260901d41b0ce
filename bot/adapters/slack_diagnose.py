"""Diagnose reports in Slack: a verdict message, the checklist threaded under it."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.domain.checks.model import Report
from bot.render import diagnose as render
from bot.render.blocks import Blocks


class SlackDiagnosePoster:
    """Posts through the outbox, so 429s and outages are handled like job progress."""

    def __init__(self, client: WebClient, outbox: SlackOutbox, default_channel: str | None) -> None:
        self._client = client
        self._outbox = outbox
        self._default_channel = default_channel

    def __call__(self, report: Report, user: str, channel: str | None) -> None:
        where = channel or self._default_channel or ""
        parent: dict[str, str] = {}

        def post_parent() -> None:
            answer = self._client.chat_postMessage(
                channel=where,
                text=render.headline(report, user),
                blocks=render.parent(report, user),
            )
            parent["ts"], parent["channel"] = str(answer["ts"]), str(answer["channel"])

        self._outbox.submit(post_parent, critical=True)
        for blocks in render.checklist(report):
            self._outbox.submit(self._reply(parent, where, report, blocks), critical=True)
        if render.needs_file(report):
            self._outbox.submit(self._attach(parent, where, report), critical=True)

    def _attach(self, parent: dict[str, str], where: str, report: Report) -> Callable[[], None]:
        def send() -> None:
            self._client.files_upload_v2(
                channel=parent.get("channel", where),
                thread_ts=parent.get("ts"),
                file_uploads=[
                    {
                        "content": render.as_text(report),
                        "filename": "diagnose.txt",
                        "title": "The whole checklist",
                    }
                ],
            )

        return send

    def _reply(
        self, parent: dict[str, str], where: str, report: Report, blocks: Blocks
    ) -> Callable[[], None]:
        def send() -> None:
            self._client.chat_postMessage(
                channel=parent.get("channel", where),
                thread_ts=parent.get("ts"),
                text=f"Checklist for {report.subject}",
                blocks=blocks,
            )

        return send
