"""Reading Slack threads within Slack's read limits: a brief cache and a closed window.

Slack's docs (https://docs.slack.dev/reference/methods/conversations.replies and
https://docs.slack.dev/apis/web-api/rate-limits, read 2026-07-20): an app distributed outside
the Marketplace may call conversations.replies and conversations.history once a minute, with
`limit` at most 15 (new installations since 2025-05-29, existing ones since 2026-03-03);
internal and Marketplace apps keep Tier 3 (50+ a minute). A 429 carries `Retry-After`.

So a thread is read at most once while its answer is fresh (`ThreadCache`), and no read is
tried while Slack has said to wait (`ReadWindow`): the answer goes out without the thread,
saying so. Nothing here sleeps: the caller is told "not now" and answers at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

THREADS = 256  # threads remembered at once
TTL_S = 120.0  # a thread's text is reused this long (two of the distributed tier's windows)
DEFAULT_RETRY_AFTER_S = 60.0  # a 429 without Retry-After: the distributed tier's minute
MAX_RETRY_AFTER_S = 3600.0  # a Retry-After beyond this is not believed


@dataclass(frozen=True)
class ThreadContext:
    """A thread's text as read (bounded), or why it wasn't read (`unread`)."""

    text: str = ""
    unread: str | None = None  # RATE_LIMITED (Slack said to wait) or REFUSED (an error)

    @property
    def read(self) -> bool:
        return self.unread is None


RATE_LIMITED = "rate_limited"
REFUSED = "refused"


class ThreadCache:
    """A bounded LRU of thread texts whose entries expire `ttl_s` after they were read."""

    def __init__(
        self,
        size: int = THREADS,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._size = size
        self._ttl_s = ttl_s
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> str | None:
        """The thread's text if it was read less than `ttl_s` ago, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self._ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[str, str], text: str) -> None:
        with self._lock:
            self._entries[key] = (self._clock(), text)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)  # the least recently used

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class ReadWindow:
    """Closed for `Retry-After` seconds after Slack refuses a read; open otherwise."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._closed_until = 0.0

    def is_open(self) -> bool:
        with self._lock:
            return self._clock() >= self._closed_until

    def close(self, retry_after: str | float | None) -> float:
        """Close for what Slack said (seconds, as its header gives them); returns how long."""
        seconds = parse_retry_after(retry_after)
        with self._lock:
            self._closed_until = max(self._closed_until, self._clock() + seconds)
        return seconds

    def reopens_in(self) -> float:
        with self._lock:
            return max(0.0, self._closed_until - self._clock())


def parse_retry_after(value: str | float | None) -> float:
    """Retry-After as seconds: Slack sends an integer; missing or odd values mean a minute."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S
    if seconds != seconds or seconds < 0:  # NaN or negative
        return DEFAULT_RETRY_AFTER_S
    return min(seconds, MAX_RETRY_AFTER_S)
