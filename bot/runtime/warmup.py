"""Start-up work that /readyz waits for: what the first requests would otherwise do inside
Slack's 3 s acknowledgement, all at once (issue #19: a replica that took traffic as soon as it
answered made its first 200 acks 3.5x a warm minimal Bolt app's at p99).

Each piece runs once in its own thread, so a slow or unreachable dependency delays readiness,
never the process's start or its liveness probe. A piece that fails is logged and counts as
done: the request path still does that work when it needs it, as it did before.

The largest piece is the heap (`settle_heap`): the bot's imports leave about 200,000 objects
that the cyclic garbage collector has never examined, and its first full collection came during
the first burst of requests, a pause of 0.3 s with every request thread waiting on the GIL.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class WarmUp:
    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def run(self, name: str, work: Callable[[], object]) -> None:
        """Do `work` once, in the background; `name` is pending until it returns or fails."""
        with self._lock:
            self._pending.add(name)

        def warm() -> None:
            try:
                work()
            except Exception as error:  # the request path does it later, as without warm-up
                log.warning("warm-up %s failed (%s); the first request does it", name, error)
            finally:
                with self._lock:
                    self._pending.discard(name)
                    self._idle.notify_all()

        threading.Thread(target=warm, name=f"ecrbot-warmup-{name}", daemon=True).start()

    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._pending)

    def wait(self, timeout: float) -> bool:
        """Until nothing is pending (True), or `timeout` seconds (False)."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending, timeout)


def settle_heap() -> None:
    """Collect once, then freeze what is left (start-up objects live as long as the process),
    so that later full collections walk only what requests and jobs allocate."""
    gc.collect()
    gc.freeze()
