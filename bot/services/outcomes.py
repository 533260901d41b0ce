"""Storing a job's outcome: retried, conditional on who runs it, journaled if refused."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from bot.domain.ports import JobStore, OutcomeJournal, UnsavedOutcome

log = logging.getLogger(__name__)

# A terminal write that fails (SQLite locked, PostgreSQL failing over) is retried for about a
# minute before the outcome is told from memory and journaled; the image is in ECR either way.
FINISH_ATTEMPTS = 8
FINISH_FIRST_WAIT_S = 0.25
STORED, LOST, JOURNALED = "stored", "lost", "journaled"


class OutcomeWriter:
    """Writes outcomes to the job store; the journal keeps those it refuses."""

    def __init__(
        self,
        store: JobStore,
        journal: OutcomeJournal | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._journal = journal
        self._sleep = sleep

    def write(self, outcome: UnsavedOutcome) -> str:
        """Store the outcome, retrying with backoff: STORED, LOST (the row is not ours any
        more), or JOURNALED (kept on disk, written once the store takes it)."""
        wait = FINISH_FIRST_WAIT_S
        for attempt in range(1, FINISH_ATTEMPTS + 1):
            try:
                stored = outcome.finish_in(self._store)
                return STORED if stored is not None else LOST
            except Exception as error:
                log.warning(
                    "storing job %s's outcome failed (attempt %d of %d): %s",
                    outcome.job_id,
                    attempt,
                    FINISH_ATTEMPTS,
                    type(error).__name__,
                )
                if attempt < FINISH_ATTEMPTS:
                    self._sleep(wait)
                    wait = min(wait * 2, 15.0)
        # The outcome is told from memory now, and journaled so the row gets it without a
        # restart; the log keeps it in full either way.
        log.error(
            "job %s's outcome could not be stored; it is %s",
            outcome.job_id,
            outcome_json(outcome),
        )
        if self._journal is not None:
            try:
                self._journal.keep(outcome)
            except Exception:
                log.exception("job %s's outcome could not be journaled either", outcome.job_id)
        return JOURNALED


def outcome_json(outcome: UnsavedOutcome) -> str:
    """The outcome in one log line: what happened to the image."""
    result = outcome.result
    return json.dumps(
        {
            "state": outcome.state.value,
            "digest": result.digest if result else None,
            "uris": list(result.image_uris) if result else [],
            "failure": outcome.failure.title if outcome.failure else None,
        }
    )
