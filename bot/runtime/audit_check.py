"""The audit log's integrity, checked once when a process starts, off the start's clock.

A broken chain or a missing trigger is logged at ERROR with the first bad id, and /readyz shows
the verdict (`audit_log`). It does not make the process unready: a rewritten history is an
incident for people to look into, and taking every replica out of service would hide the bot
they need while they do (and hand anyone who can write one row a way to stop it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.domain.audit_chain import AuditIntegrity

log = logging.getLogger(__name__)

CHECKING = "checking"


class AuditCheck:
    """Runs `integrity` once in a named thread; `status` is its verdict for /readyz."""

    def __init__(self, integrity: Callable[[], AuditIntegrity]) -> None:
        self._integrity = integrity
        self._status = "not checked"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._status = CHECKING
            self._thread = threading.Thread(target=self.run, name="ecrbot-audit-check", daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        started = time.monotonic()
        try:
            found = self._integrity()
        except Exception as error:  # a probe reports, it never raises
            log.warning("audit log: integrity not checked (%s)", type(error).__name__)
            self._set(f"not checked: {type(error).__name__}")
            return
        took = time.monotonic() - started
        if found.intact:
            # The head, in the log: a copy outside the database to compare the next check with.
            log.info("audit log %s (checked in %.2f s)", found.summary(), took)
            self._set("ok")
        else:
            log.error(
                "AUDIT LOG TAMPERED WITH: %s. Compare with a backup and the head ids logged "
                "before; `ecrbot audit verify` checks again.",
                found.summary(),
            )
            self._set(found.summary())

    def _set(self, status: str) -> None:
        with self._lock:
            self._status = status
