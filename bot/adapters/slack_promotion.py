"""A promotion's thread in Slack: a parent message, a reply per step, the outcome, and the parent
edited to show it. Through the outbox, so 429s and outages are handled like job progress."""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import Refusal, SlackReplies
from bot.domain.approvals import Approval
from bot.domain.commit_diff import CommitDiff
from bot.domain.promotion import Promoted, PromotionPlan, PromotionRequest, PromotionStep
from bot.domain.scan_gate import Verdict
from bot.render import approval as approval_render
from bot.render import promotion as render
from bot.render.blocks import Blocks
from bot.render.ids import ActionId

# Slack message metadata on the parent, so tools and tests find a promotion's thread.
EVENT_TYPE = "ecrbot_promotion"


class _Thread:
    def __init__(self, channel: str, refusal: Refusal) -> None:
        self.channel = channel
        self.ts: str | None = None
        self.refusal = refusal


class SlackPromotionPoster:
    """`PromotionNotices` in Slack; one thread per request, forgotten when it ends."""

    def __init__(
        self,
        client: WebClient,
        outbox: SlackOutbox,
        default_channel: str | None,
        remember_thread: Callable[[str, str, str], None] = lambda *_: None,
        remember_parent: Callable[[str, str, str], None] = lambda *_: None,
    ) -> None:
        self._remember_thread = remember_thread  # (approval id, channel, parent ts)
        self._remember_parent = remember_parent  # (promotion id, channel, parent ts)
        self._client = client
        self._outbox = outbox
        self._default_channel = default_channel
        self._replies = SlackReplies(outbox)
        self._threads: dict[int, _Thread] = {}
        self._guard = threading.Lock()

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None:
        self._thread(request)

    def step(self, request: PromotionRequest, step: PromotionStep, planned: PromotionPlan) -> None:
        self._reply(self._thread(request), render.step(step, planned))

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        self._reply(self._thread(request), render.gated(verdict, overridable=True))

    def finished(self, request: PromotionRequest, done: Promoted) -> None:
        thread = self._thread(request)
        self._reply(thread, render.finished(done))
        self._edit(thread, request, ":white_check_mark:", {"state": "succeeded"} | _digest(done))
        self._forget(request)

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        thread = self._thread(request)
        self._reply(thread, render.cancelled(request, by))
        retry = ActionId.PROMOTION_RETRY
        self._edit(thread, request, ":octagonal_sign:", {"state": "cancelled"}, retry)
        self._forget(request)

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        thread = self._thread(request)
        words, blocks = approval_render.request(approval, planned, commits)

        def post() -> None:
            if thread.ts is not None:  # the parent is posted first, on this same sender thread
                self._remember_thread(approval.id, thread.channel, thread.ts)
            self._client.chat_postMessage(
                channel=thread.channel, thread_ts=thread.ts, text=words, blocks=blocks
            )

        self._send(thread, post)
        self._forget(request)  # the click carries it on, maybe on another replica

    def expired(self, approval: Approval) -> None:
        """An approval request that nobody answered in time, said in its thread."""
        if not approval.channel or not approval.thread_ts:
            return
        thread = _Thread(approval.channel, Refusal(self._replies, None, approval.channel))
        thread.ts = approval.thread_ts
        self._reply(thread, approval_render.expired_unanswered(approval))
        # The run ended failed (PromotionControl.expired): its parent offers Retry, not Cancel.
        request = PromotionRequest(
            approval.app,
            approval.ref,
            approval.environment,
            approval.requested_by,
            approval.channel,
            thread_ts=approval.thread_ts,
            id=approval.id,
        )
        self._edit(thread, request, ":x:", {"state": "failed"}, ActionId.PROMOTION_RETRY)

    def failed(self, request: PromotionRequest, reason: str) -> None:
        thread = self._thread(request)
        self._reply(thread, render.failed(request, reason))
        self._edit(thread, request, ":x:", {"state": "failed"}, ActionId.PROMOTION_RETRY)
        self._forget(request)

    def _thread(self, request: PromotionRequest) -> _Thread:
        """The request's thread, its parent posted the first time it is asked for."""
        with self._guard:
            thread = self._threads.get(id(request))
            if thread is not None:
                return thread
            channel = request.channel or self._default_channel or ""
            thread = _Thread(channel, Refusal(self._replies, request.reply_url, channel))
            self._threads[id(request)] = thread
            if request.thread_ts is not None:  # after an approval: the thread ecrbot recorded
                thread.ts = request.thread_ts
                return thread
        cancel = ActionId.PROMOTION_CANCEL
        head, blocks = render.parent(request, ":hourglass_flowing_sand:", cancel)

        def post() -> None:
            answer = self._client.chat_postMessage(
                channel=thread.channel,
                text=head,
                blocks=blocks,
                metadata=_metadata(request, {"state": "running"}),
            )
            thread.channel, thread.ts = str(answer["channel"]), str(answer["ts"])
            if request.id:  # its buttons then work from any replica, and after a restart
                self._remember_parent(request.id, thread.channel, thread.ts)

        self._send(thread, post)
        return thread

    def _reply(self, thread: _Thread, words: str) -> None:
        def post() -> None:
            self._client.chat_postMessage(channel=thread.channel, thread_ts=thread.ts, text=words)

        self._send(thread, post)

    def _edit(
        self,
        thread: _Thread,
        request: PromotionRequest,
        state: str,
        payload: dict[str, str],
        offer: ActionId | None = None,
    ) -> None:
        head, blocks = render.parent(request, state, offer)

        def edit() -> None:
            if thread.ts is not None:
                self._update(thread, head, blocks, _metadata(request, payload))

        self._send(thread, edit)

    def _update(
        self, thread: _Thread, head: str, blocks: Blocks, metadata: dict[str, object]
    ) -> None:
        self._client.chat_update(
            channel=thread.channel, ts=str(thread.ts), text=head, blocks=blocks, metadata=metadata
        )

    def _send(self, thread: _Thread, call: Callable[[], None]) -> None:
        # One sender thread runs the calls in order, so a reply always follows its parent.
        self._outbox.submit(
            thread.refusal.unless_refused(call), critical=True, on_refused=thread.refusal
        )

    def _forget(self, request: PromotionRequest) -> None:
        with self._guard:
            self._threads.pop(id(request), None)


def _digest(done: Promoted) -> dict[str, str]:
    return {"digest": done.plan.digest, "target": ", ".join(done.uris)}


def _metadata(request: PromotionRequest, payload: dict[str, str]) -> dict[str, object]:
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "app": request.app,
            "ref": request.ref,
            "environment": request.environment,
            **payload,
        },
    }
