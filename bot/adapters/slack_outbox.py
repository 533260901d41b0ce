"""Slack calls from one sender thread: builds never wait on Slack; 429s pause; edits coalesce."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

Call = Callable[[], None]
OnRefused = Callable[[str], None]
BACKOFF_CAP_S = 30.0
RETRY_AFTER_DEFAULT_S = 1.0


@dataclass(order=True)
class _Op:
    due: float
    seq: int
    call: Call = field(compare=False)
    key: str | None = field(compare=False, default=None)
    critical: bool = field(compare=False, default=False)
    attempts: int = field(compare=False, default=0)
    failing_since: float | None = field(compare=False, default=None)
    on_refused: OnRefused | None = field(compare=False, default=None)


@dataclass
class OutboxStats:
    """Counters for tests, benchmarks and metrics."""

    sent: int = 0
    rate_limited: int = 0
    failed: int = 0
    dropped: int = 0


class SlackOutbox:
    """A queue of Slack calls run in order of due time by one daemon thread.

    A call with a `key` replaces a pending call with the same key (progress edits coalesce).
    429 answers pause every call for Retry-After seconds (Slack's limits are per workspace and
    method); server errors and network failures pause with backoff. Either way the failed call
    keeps its place, so a thread's replies stay in order. Other Slack errors are logged and
    dropped: a Slack problem must never fail a build.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        give_up_after_s: float = 180.0,
        critical_give_up_after_s: float = 600.0,
        pause: Callable[[], None] = lambda: None,
    ) -> None:
        self._clock = clock
        self._pause_for_acks = pause
        # A call is retried through an outage for this long (measured from its first failure:
        # the calls queued behind it wait without counting), then given up.
        self._give_up_after = give_up_after_s
        self._critical_give_up_after = critical_give_up_after_s
        self._heap: list[_Op] = []
        self._by_key: dict[str, _Op] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._paused_until = 0.0
        self._busy = False
        self._stopping = False
        self.stats = OutboxStats()
        self._thread = threading.Thread(target=self._loop, name="ecrbot-slack-outbox", daemon=True)
        self._thread.start()

    def submit(
        self,
        call: Call,
        *,
        key: str | None = None,
        not_before: float = 0.0,
        critical: bool = False,
        on_refused: OnRefused | None = None,
    ) -> None:
        """Queue `call`; with a key, replace the pending call of that key but keep its place.

        `on_refused(error)` hears of a refusal Slack won't change its mind about
        (`channel_not_found`, `not_in_channel`, `missing_scope`...): the call is dropped.
        """
        with self._cond:
            pending = self._by_key.get(key) if key else None
            if pending is not None:
                pending.call = call
                pending.critical = pending.critical or critical
                pending.on_refused = on_refused or pending.on_refused
                return
            op = _Op(
                max(not_before, self._clock()),
                next(self._seq),
                call,
                key,
                critical,
                on_refused=on_refused,
            )
            if key:
                self._by_key[key] = op
            heapq.heappush(self._heap, op)
            self._cond.notify()

    @property
    def pending(self) -> int:
        """Calls queued or being sent now."""
        with self._cond:
            return len(self._heap) + (1 if self._busy else 0)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued has been sent or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                op = self._next_due()
                if op is None:
                    return
                self._busy = True
            try:
                self._pause_for_acks()
                self._run(op)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_due(self) -> _Op | None:
        while True:
            if self._stopping and not self._heap:
                return None
            now = self._clock()
            start = max(self._paused_until, self._heap[0].due) if self._heap else None
            if start is not None and start <= now:
                op = heapq.heappop(self._heap)
                if op.key:
                    self._by_key.pop(op.key, None)
                return op
            self._cond.wait(None if start is None else start - now)

    def _run(self, op: _Op) -> None:
        try:
            op.call()
            self.stats.sent += 1
        except SlackApiError as error:
            status = error.response.status_code
            if status == 429:
                self.stats.rate_limited += 1
                retry_after = _retry_after(error)
                log.warning("Slack rate-limited us; pausing %.1f s", retry_after)
                self._pause(retry_after)
                self._requeue(op)
            elif status >= 500:
                self._retry(op, f"Slack answered {status}")
            else:
                self.stats.dropped += 1
                reason = str(error.response.get("error") or f"http_{status}")
                log.warning("Slack refused a call: %s", reason)
                if op.on_refused is not None:
                    try:
                        op.on_refused(reason)
                    except Exception:
                        log.exception("handling a Slack refusal failed")
        except (OSError, TimeoutError) as error:
            self._retry(op, f"Slack unreachable: {type(error).__name__}")
        except Exception:
            self.stats.dropped += 1
            log.exception("a Slack call failed")

    def _retry(self, op: _Op, why: str) -> None:
        self.stats.failed += 1
        op.attempts += 1
        now = self._clock()
        op.failing_since = op.failing_since if op.failing_since is not None else now
        limit = self._critical_give_up_after if op.critical else self._give_up_after
        if now - op.failing_since >= limit:
            self.stats.dropped += 1
            log.error(
                "giving up on a Slack call after %d attempts over %.0f s (%s)",
                op.attempts,
                now - op.failing_since,
                why,
            )
            return
        delay = min(BACKOFF_CAP_S, 0.5 * 2**op.attempts)
        log.warning("%s; retrying in %.1f s", why, delay)
        self._pause(delay)
        self._requeue(op)

    def _pause(self, seconds: float) -> None:
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _requeue(self, op: _Op) -> None:
        """Put a failed call back in its old place: later calls never overtake it."""
        with self._cond:
            if op.key and op.key in self._by_key:
                return  # a newer call with the same key is already queued
            if op.key:
                self._by_key[op.key] = op
            heapq.heappush(self._heap, op)
            self._cond.notify()


def _retry_after(error: SlackApiError) -> float:
    value = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else RETRY_AFTER_DEFAULT_S
    except (TypeError, ValueError):
        return RETRY_AFTER_DEFAULT_S
