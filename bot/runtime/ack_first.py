"""Acknowledgements first: background work steps aside while Slack requests are in flight.

Slack drops a request not acknowledged within 3 s, and CPython runs one thread at a time. A
burst of slash commands arriving while builds stream progress and the outbox posts to Slack
competes with those threads for the GIL, which stretched the slowest acks (bench_ack). The
background loops call `pause()` between their steps: it returns at once when no request is in
flight, and otherwise waits until none is, or `max_wait_s` at most, so background work is
delayed by milliseconds, never starved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AckFirst:
    def __init__(self, max_wait_s: float = 0.05) -> None:
        self._max_wait = max_wait_s
        self._in_flight = 0
        self._cond = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one Slack request (the Bolt middleware)."""
        with self._cond:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._cond.notify_all()

    def pause(self, scale: float = 1.0) -> None:
        """Between two steps of background work: yield to in-flight requests, boundedly."""
        if self._in_flight == 0 or self._max_wait <= 0:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._in_flight == 0, timeout=self._max_wait * scale)
