"""Diagnose reports in Slack: a verdict message, the checklist threaded under it."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.slack_files import upload_to_thread
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import Refusal, SlackReplies
from bot.domain.checks.model import Report
from bot.render import diagnose as render
from bot.render.blocks import Blocks


class SlackDiagnosePoster:
    """Posts through the outbox, so 429s and outages are handled like job progress."""

    def __init__(self, client: WebClient, outbox: SlackOutbox, default_channel: str | None) -> None:
        self._client = client
        self._outbox = outbox
        self._default_channel = default_channel
        self._replies = SlackReplies(outbox)

    def __call__(
        self, report: Report, user: str, channel: str | None, reply_url: str | None = None
    ) -> None:
        where = channel or self._default_channel or ""
        parent: dict[str, str] = {}
        refusal = Refusal(self._replies, reply_url, where)

        def post_parent() -> None:
            answer = self._client.chat_postMessage(
                channel=where,
                text=render.headline(report, user),
                blocks=render.parent(report, user),
            )
            parent["ts"], parent["channel"] = str(answer["ts"]), str(answer["channel"])

        calls = [post_parent]
        calls += [self._reply(parent, where, report, blocks) for blocks in render.checklist(report)]
        if render.needs_file(report):
            calls.append(self._attach(parent, where, report))
        for call in calls:
            self._outbox.submit(refusal.unless_refused(call), critical=True, on_refused=refusal)

    def _attach(self, parent: dict[str, str], where: str, report: Report) -> Callable[[], None]:
        def send() -> None:
            upload_to_thread(
                self._client,
                parent.get("channel", where),
                parent.get("ts"),
                [
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
