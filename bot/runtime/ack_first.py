"""Acknowledgements first: background work steps aside while Slack requests are in flight.

Slack drops a request not acknowledged within 3 s, and CPython runs one thread at a time. A
burst of slash commands arriving while builds stream progress and the outbox posts to Slack
competes with those threads for the GIL, which stretched the slowest acks (bench_ack). The
background loops call `pause()` between their steps: it returns at once when no request has
been in flight for `quiet_s`, and otherwise waits until then, or `max_wait_s` at most, so
background work is delayed by milliseconds, never starved.

Quiet for a moment, not only at this instant: in a burst, every request thread may be between
two requests for a fraction of a millisecond (gunicorn's main thread reading the next one), and
a job's start, a Slack post or a batch of inserts that slipped into such a gap held the GIL
from the acknowledgements that followed (bench_ack, per thread: the SQLite writer and the job
worker were the bot's busiest threads during the burst).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AckFirst:
    def __init__(self, max_wait_s: float = 0.05, quiet_s: float = 0.02) -> None:
        self._max_wait = max_wait_s
        self._quiet = quiet_s
        self._in_flight = 0
        self._last_end = float("-inf")  # when the last request in flight ended (monotonic)
        self._cond = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one Slack request (the Bolt middleware)."""
        self._begin()
        try:
            yield
        finally:
            self._end()

    def wsgi(self, app: WsgiApp) -> WsgiApp:
        """`app`, its requests in flight until the server has sent the answer (PEP 3333: the
        server calls the body's close() once it is written, or the client went away). What is
        left for after an acknowledgement (the accepted job's commit, the audit entry) then
        waits until its bytes are out, not only until Bolt has built them."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self._begin()
            try:
                body = app(environ, start_response)
            except BaseException:
                self._end()
                raise
            return _Sent(body, self._end)

        return counted

    def _begin(self) -> None:
        with self._cond:
            self._in_flight += 1

    def _end(self) -> None:
        with self._cond:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._last_end = time.monotonic()
                self._cond.notify_all()

    def pause(self, scale: float = 1.0) -> None:
        """Between two steps of background work: yield to requests in flight or just ended,
        boundedly."""
        if self._max_wait <= 0 or self._quiet_now(time.monotonic()):
            return
        deadline = time.monotonic() + self._max_wait * scale
        with self._cond:
            while True:
                now = time.monotonic()
                if now >= deadline or self._quiet_now(now):
                    return
                if self._in_flight:
                    self._cond.wait(deadline - now)
                else:  # none in flight: until the quiet moment is over (or a request comes)
                    self._cond.wait(min(self._last_end + self._quiet, deadline) - now)

    def _quiet_now(self, now: float) -> bool:
        return self._in_flight == 0 and now - self._last_end >= self._quiet


class _Sent:
    """A WSGI body whose close() also ends its request's count, once."""

    def __init__(self, body: Iterable[bytes], end: Callable[[], None]) -> None:
        self._body = body
        self._end: Callable[[], None] | None = end

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            end, self._end = self._end, None
            if end is not None:
                end()
