"""Which job the current thread is working on, so every log line it writes can name it.

Here, not in `runtime/logs.py`, because the job service sets it and the log filter reads it:
both layers may import the domain, neither may import the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

current_job: ContextVar[int | None] = ContextVar("current_job", default=None)


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Tag every log record written inside with `job_id`."""
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)
