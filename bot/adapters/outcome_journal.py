"""Job outcomes the store refused, in an append-only file until the store takes them.

One JSON line per outcome, appended and fsynced before `keep` returns, so an outcome told to
Slack from memory survives a crash of this process too. A background thread replays the file
while it holds anything (and once at start, before a restart's recovery would end those jobs as
interrupted). A replay is a conditional update (`SqlJobStore.finish`: only a job still running,
on the worker that ran it), so writing an entry twice, or after someone else ended the job,
changes nothing. The file belongs to one process: each worker has its own work dir.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.adapters.store import parse_failure, parse_result
from bot.domain.models import JobState
from bot.domain.ports import JobStore, UnsavedOutcome

log = logging.getLogger(__name__)

RETRY_S = 2.0  # how often a non-empty journal is replayed while the store refuses
MAX_LINE = 256 * 1024  # an outcome is a few kB; a longer line is not one of ours


class FileOutcomeJournal:
    def __init__(self, path: Path, store: JobStore, retry_s: float = RETRY_S) -> None:
        self._path = path
        self._store = store
        self._retry_s = retry_s
        self._lock = threading.Lock()  # one appender or replayer at a time
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def keep(self, outcome: UnsavedOutcome) -> None:
        line = json.dumps(_to_json(outcome), separators=(",", ":")) + "\n"
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            new = not self._path.exists()
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                _fsync_dir(self._path.parent)  # the file's name is durable too
        log.warning("job %s's outcome is journaled in %s", outcome.job_id, self._path)
        self._wake.set()

    def pending(self) -> list[int]:
        with self._lock:
            return [outcome.job_id for outcome in self._read()]

    def replay(self) -> int:
        with self._lock:
            entries = self._read()
            if not entries:
                return 0
            waiting = []
            for n, outcome in enumerate(entries):
                try:
                    stored = outcome.finish_in(self._store)
                except Exception as error:  # still refused: keep this and the rest, in order
                    log.info("journal replay: the store still refuses (%s)", type(error).__name__)
                    waiting = entries[n:]
                    break
                if stored is None:
                    log.warning(
                        "job %s's journaled outcome (%s) came too late: the job was already "
                        "ended by someone else",
                        outcome.job_id,
                        outcome.state.value,
                    )
                else:
                    log.info("job %s's journaled outcome is stored", outcome.job_id)
            self._rewrite(waiting)
            return len(waiting)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, name="ecrbot-outcome-journal", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _loop(self) -> None:
        waiting = 1  # look once at start: an earlier run may have left entries
        while not self._stopping.is_set():
            if waiting:
                try:
                    waiting = self.replay()
                except Exception:  # a journal we can't read or rewrite: say so, try again
                    log.exception("replaying the outcome journal %s failed", self._path)
            # Sleep until the next retry, or until something new is kept.
            self._wake.wait(self._retry_s if waiting else None)
            self._wake.clear()
            waiting = waiting or 1

    def _read(self) -> list[UnsavedOutcome]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return []
        outcomes = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                if len(line) > MAX_LINE:
                    raise ValueError("line too long")
                outcomes.append(_from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as error:
                # A torn last line: the append never returned, so nobody was told it was kept.
                log.error("journal %s line %d unreadable (%s), skipped", self._path, number, error)
        return outcomes

    def _rewrite(self, outcomes: list[UnsavedOutcome]) -> None:
        """Replace the file with what still waits: written aside, fsynced, renamed."""
        if not outcomes:
            self._path.unlink(missing_ok=True)
            _fsync_dir(self._path.parent)
            return
        aside = self._path.with_suffix(".tmp")
        text = "".join(json.dumps(_to_json(o), separators=(",", ":")) + "\n" for o in outcomes)
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(aside, self._path)
        _fsync_dir(self._path.parent)


def _to_json(outcome: UnsavedOutcome) -> dict[str, Any]:
    return {
        "job_id": outcome.job_id,
        "state": outcome.state.value,
        "finished_at": outcome.finished_at.isoformat(),
        "result": json.dumps(asdict(outcome.result)) if outcome.result else None,
        "failure": json.dumps(asdict(outcome.failure)) if outcome.failure else None,
        "steps": outcome.steps,
        "owner": outcome.owner,
    }


def _from_json(data: dict[str, Any]) -> UnsavedOutcome:
    return UnsavedOutcome(
        job_id=int(data["job_id"]),
        state=JobState(data["state"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        result=parse_result(data["result"]),
        failure=parse_failure(data["failure"]),
        steps={str(k): float(v) for k, v in (data.get("steps") or {}).items()},
        owner=data.get("owner"),
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
