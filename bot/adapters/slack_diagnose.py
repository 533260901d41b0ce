"""Diagnose reports in Slack: a verdict message, the checklist threaded under it."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.slack_files import upload_to_thread
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import Refusal, SlackReplies
from bot.domain.checks.model import Report
from bot.domain.ports import Destination
from bot.render import diagnose as render
from bot.render.blocks import Blocks


class SlackDiagnosePoster:
    """Posts through the outbox, so 429s and outages are handled like job progress."""

    def __init__(self, client: WebClient, outbox: SlackOutbox, default_channel: str | None) -> None:
        self._client = client
        self._outbox = outbox
        self._default_channel = default_channel
        self._replies = SlackReplies(outbox)

    def __call__(self, report: Report, user: str, destination: Destination) -> None:
        where = destination.channel or self._default_channel or ""
        # Into an existing thread (triage, the message shortcut): the verdict is its first
        # reply and the checklist follows it there; otherwise the verdict starts a new thread.
        parent: dict[str, str] = {"ts": destination.thread_ts} if destination.thread_ts else {}
        refusal = Refusal(self._replies, destination.reply_url, where)

        def post_parent() -> None:
            channel = where
            if destination.to_user is not None:
                # The asker's own DM, opened by user id (conversations.open, im:write): never a
                # channel id that came with the request.
                opened = self._client.conversations_open(users=destination.to_user)
                channel = str(opened["channel"]["id"])
            answer = self._client.chat_postMessage(
                channel=channel,
                thread_ts=destination.thread_ts,
                text=render.headline(report, user),
                blocks=(
                    render.verdict_elsewhere(report, user)
                    if destination.verdict_only
                    else render.parent(report, user)
                ),
            )
            parent.setdefault("ts", str(answer["ts"]))
            parent["channel"] = str(answer["channel"])

        calls = [post_parent]
        if destination.verdict_only:
            self._outbox.submit(
                refusal.unless_refused(post_parent), critical=True, on_refused=refusal
            )
            return
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
