"""`ecrbot jobs` output: the newest jobs of the whole fleet as an aligned table or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.models import Job

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000  # one query, one screen or file; older jobs are the database's to answer

Stamp = Callable[[datetime | None], str | None]


def as_json(jobs: list[Job]) -> str:
    """A list of objects, newest first; times are ISO 8601 in UTC, absent values null."""
    return json.dumps([_fields(job, _iso) for job in jobs], indent=2)


def as_table(jobs: list[Job]) -> str:
    """A plain table aligned on spaces, newest first, headed by the column names; times UTC."""
    if not jobs:
        return "No jobs yet."
    rows = [[_cell(value) for value in _fields(job, _second).values()] for job in jobs]
    header = [name.removesuffix("_at").replace("_", " ").upper() for name in _fields(jobs[0])]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _fields(job: Job, stamp: Stamp = lambda moment: None) -> dict[str, object]:
    return {
        "id": job.id,
        "app": job.app,
        "sha": job.sha,
        "version": job.version,
        "state": job.state.value,
        "requested_by": job.requested_by,
        # Set when a worker of the scaled-out backend takes the job; the embedded pool leaves it.
        "worker": getattr(job, "worker", None),
        "created_at": stamp(job.created_at),
        "started_at": stamp(job.started_at),
        "finished_at": stamp(job.finished_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _second(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None


def _cell(value: object) -> str:
    """A value as one table cell: `-` when absent, and no character a terminal would act on
    (a version or a worker's name could hold an escape sequence)."""
    if value is None or value == "":
        return "-"
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))
