"""Cooperative cancellation shared by the worker, the pipeline and the adapters.

A token is cancelled by a person (Cancel) or interrupted by the runtime (a drain, or a worker
that no longer owns its job). Before a step that writes to the registry the pipeline calls
`checkpoint()`, which also asks the runtime's checks (is this job still mine?), so a job that
was taken away between two heartbeats never pushes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum

from bot.domain.errors import Cancelled


class Stop(Enum):
    CANCEL = "someone asked to cancel it"
    INTERRUPT = "the runtime took it away (a drain, or the job is no longer this worker's)"


# A check says whether the job may go on (None) or must stop, and how.
Check = Callable[[], "Stop | None"]


class CancelToken:
    """Set once; adapters register callbacks that abort blocking I/O (e.g. close a stream)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._checks: list[Check] = []
        self.interrupted = False

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def add_check(self, check: Check) -> None:
        """Ask `check` at every checkpoint (e.g. re-read who owns the job)."""
        self._checks.append(check)

    def checkpoint(self) -> None:
        """Raise Cancelled if cancelled, or if a check says to stop (which cancels)."""
        for check in self._checks:
            stop = check()
            if stop is not None:
                self.cancel(interrupt=stop is Stop.INTERRUPT)
        self.raise_if_cancelled()

    def cancel(self, *, interrupt: bool = False) -> None:
        with self._lock:
            if interrupt and not self._event.is_set():
                self.interrupted = True
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` on cancel (at once if already cancelled); returns an unregister."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback()
        return lambda: None

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled

    def _discard(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
