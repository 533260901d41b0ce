"""What the job runner tells people: the Reporter port, implemented for Slack and the terminal."""

from __future__ import annotations

from typing import Protocol

from bot.domain.models import Job, ProgressEvent


class Reporter(Protocol):
    """Receives a job's life events; must never raise into the build."""

    def queued(self, job: Job) -> None: ...

    def waiting(self, job: Job, behind: int) -> None: ...

    def started(self, job: Job) -> None: ...

    def progress(self, job: Job, event: ProgressEvent) -> None: ...

    def finished(self, job: Job) -> None: ...
