"""Errors whose messages are safe to show in Slack, each with a next step."""

from __future__ import annotations

import uuid

from bot.domain.models import Failure, Step
from bot.domain.text import code


class UserError(Exception):
    """A problem the person who asked can understand and act on."""

    def __init__(self, message: str, next_step: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step

    def __str__(self) -> str:
        return f"{self.message} {self.next_step}".strip()


class UsageError(UserError):
    """The command's words are off."""


class NotAuthorized(UserError):
    """The person may not do this."""


class WrongChannel(NotAuthorized):
    """The channel rule: /ecr answers only in the catalog's channels."""


class QueueFull(UserError):
    """Too many pushes are waiting; nothing was queued."""


class RateLimited(UserError):
    """The person asked too often; the message says when to try again."""


class UnknownApp(UserError):
    """The app is not in the catalog."""

    def __init__(self, app: str, known: list[str]) -> None:
        # `known` is what this user may be told about (the apps they push), never the catalog.
        listed = f"Apps you can use: {', '.join(code(n) for n in sorted(known))}. " if known else ""
        super().__init__(
            f"There is no app called {code(app)} in the catalog.",
            f"{listed}Ask #platform-team to add it to the catalog.",
        )


class JobNotFound(UserError):
    """No job has that id."""


def new_error_id() -> str:
    """A short id shown to the user for an unexpected error, and logged beside its traceback."""
    return uuid.uuid4().hex[:8]


class SourceBusy(Exception):
    """A source lookup that did not finish by its deadline: the lock was held, or the git
    child ran too long and was killed."""


class ConfigError(Exception):
    """Configuration is missing or invalid; the message says how to fix it."""


class SchemaError(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to do.

    Raised by the SQL adapters, caught by the entry points: here so neither imports the other."""


class PipelineError(Exception):
    """A pipeline step failed; `failure` says why in plain words."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.title)
        self.failure = failure


class Cancelled(Exception):
    """The job was cancelled while it ran."""


class StepError(Exception):
    """Raised by adapters: a step failed with raw text the failure catalogue explains."""

    def __init__(self, step: Step, raw: str, log_tail: tuple[str, ...] = ()) -> None:
        super().__init__(raw)
        self.step = step
        self.raw = raw
        self.log_tail = log_tail
