"""What may reach Bolt over HTTP: a body within size, correctly signed, recent, and seen once.

Bolt verifies the signature and the 5-minute timestamp window too; this guard runs first so a
request that fails never costs more than a hash, and so a correctly signed request captured
and sent again within those 5 minutes (a replay) is refused: Bolt would accept it.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk.signature import Clock, SignatureVerifier

MAX_BODY = 256 * 1024  # Slack's largest payloads (view submissions) are far smaller
WINDOW_S = 300  # Slack: refuse requests whose timestamp is more than five minutes off
MAX_REMEMBERED = 200_000  # signatures kept for replay checks (valid requests only)


class RequestMarks(Protocol):
    """Where seen signatures are kept: this process, or a store every replica shares."""

    def first_time(self, mark: str, ttl_s: float) -> bool:
        """Take `mark` for `ttl_s` seconds; False if it is already held."""
        ...


class MemoryMarks:
    """Seen signatures in this process: the single-process bot's."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, mark: str, ttl_s: float) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now:
                self._seen.popitem(last=False)
            if mark in self._seen:
                return False
            self._seen[mark] = now + ttl_s
            if len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)
        return True


class RequestGuard:
    """Checks one WSGI request; `refusal()` says why it must not reach Bolt, or None."""

    def __init__(
        self,
        signing_secret: str,
        clock: Callable[[], float] = time.time,
        marks: RequestMarks | None = None,
    ) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        # Scaled out, replicas share the marks (PostgreSQL): a replay sent to another replica
        # is refused too.
        self._marks = marks or MemoryMarks(clock)

    def refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """(HTTP status, reason) to refuse with, or None; the body is re-readable after."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request", "bad Content-Length"
        if length > MAX_BODY:
            return "413 Content Too Large", f"body over {MAX_BODY} bytes"
        body = environ["wsgi.input"].read(length if length else MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return "413 Content Too Large", f"body over {MAX_BODY} bytes"
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        if not timestamp or not signature:
            return "401 Unauthorized", "unsigned"
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return "401 Unauthorized", "bad timestamp"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "401 Unauthorized", "bad signature or stale timestamp"
        return self._once(signature)

    def _once(self, signature: str) -> tuple[str, str] | None:
        # The window spans both sides of now: a signature stays refused for twice its width.
        if not self._marks.first_time(signature, 2 * WINDOW_S):
            return "401 Unauthorized", "replayed"
        return None


class _Clock(Clock):
    """slack_sdk's SignatureVerifier asks a clock object for now()."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()
