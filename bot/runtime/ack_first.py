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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AckFirst:
    def __init__(self, max_wait_s: float = 0.05) -> None:
        self._max_wait = max_wait_s
        self._in_flight = 0
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
                self._cond.notify_all()

    def pause(self, scale: float = 1.0) -> None:
        """Between two steps of background work: yield to in-flight requests, boundedly."""
        if self._in_flight == 0 or self._max_wait <= 0:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._in_flight == 0, timeout=self._max_wait * scale)


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
