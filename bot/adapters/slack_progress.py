"""Job progress in Slack: one parent message per job, milestones threaded under it, live edits."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_reply import SlackReplies
from bot.domain.models import Job, ProgressEvent, Step
from bot.domain.ports import JobStore
from bot.render import common
from bot.render import push as render

log = logging.getLogger(__name__)

# Edits of the live progress message per job, beyond the first post and the final state.
# With ~5 milestone replies and the parent's post and edit this keeps a push under 15 calls.
MAX_LIVE_EDITS = 4
MILESTONES = {Step.CHECKOUT, Step.AUTHENTICATE, Step.PREFLIGHT, Step.VERIFY}
# Threads remembered per process. With Celery a replica opens threads whose jobs end on a
# worker, so it never hears their end: the oldest are forgotten (they live on in the store).
REMEMBERED_THREADS = 1000


@dataclass
class _Thread:
    """What the reporter knows of one job's Slack thread."""

    job: Job
    channel: str
    parent_ts: str | None = None
    live_ts: str | None = None
    live: render.LiveState = field(default_factory=render.LiveState)
    live_edits: int = 0
    last_live: float = 0.0
    waiting_behind: int | None = None
    refused: str | None = None  # Slack's refusal of this channel; the asker was told
    lock: threading.Lock = field(default_factory=threading.Lock)


class SlackReporter:
    """The Reporter port for Slack; every call goes through the outbox, so none blocks a build."""

    def __init__(
        self,
        client: WebClient,
        outbox: SlackOutbox,
        store: JobStore,
        default_channel: str | None,
        min_edit_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        replies: SlackReplies | None = None,
        thread_wait_s: float = 0.0,
        promote_to: Callable[[str], str | None] = lambda app: None,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._replies = replies or SlackReplies(outbox)
        self._store = store
        self._default_channel = default_channel
        self._interval = min_edit_interval
        self._clock = clock
        # With Celery, the replica that took the command opens the thread and the worker that
        # runs the job continues it: the worker waits this long for the thread's ts to be
        # stored before it opens one itself.
        self._thread_wait = thread_wait_s
        self._promote_to = promote_to  # an app's first environment: a Promote button
        self._threads: OrderedDict[int, _Thread] = OrderedDict()
        self._guard = threading.Lock()

    def queued(self, job: Job) -> None:
        self._parent(self._thread(job))

    def waiting(self, job: Job, behind: int) -> None:
        thread = self._thread(job)
        thread.waiting_behind = behind
        self._parent(thread)

    def started(self, job: Job) -> None:
        thread = self._thread(job)
        # Clear the "waiting" note (told in another process, when the thread was opened there).
        if thread.waiting_behind is not None or self._thread_wait > 0:
            thread.waiting_behind = None
            self._parent(thread)

    def progress(self, job: Job, event: ProgressEvent) -> None:
        thread = self._thread(job)
        if (event.step in MILESTONES and event.kind == "finished") or event.kind == "warning":
            self._reply(thread, render.milestone(event))
        elif event.step in (Step.BUILD, Step.PUSH):
            with thread.lock:
                thread.live.apply(event)
            self._live(thread, final=event.kind == "finished")

    def finished(self, job: Job) -> None:
        thread = self._thread(job)
        thread.job = job
        if thread.refused is not None:  # no thread to finish: tell the asker directly
            self._replies.tell(job.reply_url, render.outcome_for_asker(job))
        if thread.live_ts is not None or thread.live.build_step:
            self._live(thread, final=True)
        self._parent(thread, critical=True)
        self._reply(thread, render.final_reply(job), critical=True)
        with self._guard:
            self._threads.pop(job.id, None)

    def not_recorded(self, job: Job) -> None:
        self._replies.tell(job.reply_url, common.not_recorded(job.id, job.app))

    def _thread(self, job: Job) -> _Thread:
        with self._guard:
            thread = self._threads.get(job.id)
            if thread is None:
                channel = job.channel or self._default_channel or ""
                thread = _Thread(job, channel, parent_ts=job.thread_ts)
                self._threads[job.id] = thread
                while len(self._threads) > REMEMBERED_THREADS:
                    self._threads.popitem(last=False)
            else:
                thread.job = job
                self._threads.move_to_end(job.id)
            return thread

    def _parent(self, thread: _Thread, critical: bool = False) -> None:
        def send() -> None:
            if thread.refused is None:
                self._ensure_parent(thread, update=True)

        self._outbox.submit(
            send, key=f"{thread.job.id}:parent", critical=critical, on_refused=self._on(thread)
        )

    def _on(self, thread: _Thread) -> Callable[[str], None]:
        def refused(error: str) -> None:
            if thread.refused is not None:
                return
            thread.refused = error
            job = thread.job
            self._replies.tell(job.reply_url, common.cant_post(thread.channel, error, job.id))

        return refused

    def _ensure_parent(self, thread: _Thread, update: bool = False) -> str:
        job = thread.job
        blocks = render.parent(job, thread.waiting_behind, self._promote_to(job.app))
        text = render.headline(job)
        if thread.parent_ts is None and self._thread_wait > 0:
            thread.parent_ts = self._stored_thread(job.id)
        if thread.parent_ts is None:
            answer = self._client.chat_postMessage(
                channel=thread.channel, text=text, blocks=blocks, metadata=render.metadata(job)
            )
            thread.parent_ts = str(answer["ts"])
            thread.channel = str(answer.get("channel") or thread.channel)
            try:
                self._store.save_thread(job.id, thread.parent_ts)
            except Exception:  # the thread lives on in memory; the store may catch up later
                log.warning("could not store job %s's thread", job.id, exc_info=True)
        elif update:
            self._client.chat_update(
                channel=thread.channel,
                ts=thread.parent_ts,
                text=text,
                blocks=blocks,
                metadata=render.metadata(job),
            )
        return thread.parent_ts

    def _stored_thread(self, job_id: int) -> str | None:
        deadline = self._clock() + self._thread_wait
        while True:
            stored = self._store.get(job_id)
            if stored is not None and stored.thread_ts:
                return stored.thread_ts
            if self._clock() >= deadline:
                return None
            time.sleep(0.1)

    def _reply(self, thread: _Thread, text: str, critical: bool = False) -> None:
        def send() -> None:
            if thread.refused is not None:
                return
            parent_ts = self._ensure_parent(thread)
            self._client.chat_postMessage(channel=thread.channel, thread_ts=parent_ts, text=text)

        self._outbox.submit(send, critical=critical, on_refused=self._on(thread))

    def _live(self, thread: _Thread, final: bool) -> None:
        if not final and thread.live_edits >= MAX_LIVE_EDITS:
            return

        def send() -> None:
            if thread.refused is not None:
                return
            with thread.lock:
                text = render.live(thread.live)
            if thread.live_ts is None:
                parent_ts = self._ensure_parent(thread)
                answer = self._client.chat_postMessage(
                    channel=thread.channel, thread_ts=parent_ts, text=text
                )
                thread.live_ts = str(answer["ts"])
            else:
                self._client.chat_update(channel=thread.channel, ts=thread.live_ts, text=text)
                thread.live_edits += 1
            thread.last_live = self._clock()

        not_before = thread.last_live + self._interval if thread.last_live else 0.0
        self._outbox.submit(
            send, key=f"{thread.job.id}:live", not_before=not_before, on_refused=self._on(thread)
        )
