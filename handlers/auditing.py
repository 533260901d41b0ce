"""Every request into the audit log: who, what, where, and how it ended.

The middleware describes each request from Slack's payload before the listener runs and records
it after (write-behind: never on the acknowledgement's clock). A note starts as `error` ("no
answer") and only a listener that returns normally marks it `ok` (`answered`, through
`audited`): a crash that escapes a listener, or a request no listener took, can never read as a
success. The one error path (`handlers/errors`) and listeners that answer without raising (a
modal's field errors) mark it otherwise (`answered_with`, `failed`, `duplicate`). The app comes
from the parsed command, and the job from the job row the listener acted on (`about`), never
from word positions. The note lives in a context variable because Bolt runs the listener on the
middleware's thread (`process_before_response=True`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.domain import commands as cmd
from bot.domain.audit import AuditEntry, Kind, Outcome
from bot.domain.errors import NotAuthorized, QueueFull, RateLimited, UserError
from bot.domain.locks import Locked
from bot.render.escape import unescape
from bot.render.ids import ActionId, CallbackId

F = TypeVar("F", bound=Callable[..., Any])
NO_ANSWER = "no answer: the request ended before its listener returned"

MAX_DETAIL = 300  # of what was asked: the command's words, a job id

# Buttons and modals as the commands they stand for.
_ACTIONS: dict[str, str] = {
    ActionId.RETRY: "retry",
    ActionId.CANCEL: "cancel",
    ActionId.DIAGNOSE: "diagnose",
    ActionId.DIAGNOSE_PICK: "diagnose",
    ActionId.HOME_PUSH: "push_form",
    ActionId.HOME_DIAGNOSE: "diagnose_form",
    ActionId.HOME_REPORT: "report",
    ActionId.HOME_PROMOTE: "promote_form",
    ActionId.PROMOTE: "promote",
    ActionId.APPROVE: "approve",
    ActionId.REJECT: "reject",
    ActionId.PROMOTION_CANCEL: "cancel_promotion",
    ActionId.PROMOTION_RETRY: "retry_promotion",
}
_VIEWS: dict[str, str] = {
    CallbackId.PUSH_MODAL: "push",
    CallbackId.DIAGNOSE_MODAL: "diagnose",
    CallbackId.PROMOTE_MODAL: "promote",
}
_SHORTCUTS: dict[str, str] = {CallbackId.DIAGNOSE_MESSAGE: "diagnose"}


@dataclass
class Note:
    """One request as the audit log will have it; the outcome is filled in as it ends."""

    user: str
    kind: Kind
    action: str
    app: str | None = None
    channel: str | None = None
    detail: str | None = None
    outcome: Outcome = Outcome.ERROR  # until a listener returns normally
    reason: str | None = NO_ANSWER
    job: int | None = None
    settled: bool = False  # the outcome was said (ok, refused, usage, error, duplicate)
    # A slash command's words and what they parsed to (or the error): the listener reads them
    # here (`command`) instead of parsing the same words again.
    text: str | None = None
    parsed: cmd.Command | UserError | None = None

    def entry(self) -> AuditEntry:
        return AuditEntry(
            self.user,
            self.kind.value,
            self.action,
            self.outcome.value,
            self.app,
            self.channel,
            self.detail,
            self.reason,
            job=self.job,
        )

    def settle(self, outcome: Outcome, reason: str | None) -> None:
        self.outcome, self.reason, self.settled = outcome, reason, True


_current: ContextVar[Note | None] = ContextVar("ecrbot_audit_note", default=None)


def begin(body: dict[str, Any]) -> tuple[Note | None, object]:
    """Describe the request and make it the current one; returns (note, token for end())."""
    note = describe(body)
    return note, _current.set(note)


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def audited(listener: F) -> F:
    """A listener whose normal return marks its request `ok` (unless it said otherwise)."""

    @functools.wraps(listener)  # Bolt reads the argument names through __wrapped__
    def run(*args: Any, **kwargs: Any) -> Any:
        result = listener(*args, **kwargs)
        answered()
        return result

    return run  # type: ignore[return-value]


def answered() -> None:
    """The current request's listener returned normally: `ok`, unless already settled."""
    note = _current.get()
    if note is not None and not note.settled:
        note.settle(Outcome.OK, None)


def answered_with(error: UserError) -> None:
    """The current request was answered with a user error: refused, or its words were off."""
    note = _current.get()
    if note is not None:
        # NotAuthorized covers the channel rule (WrongChannel).
        refused = isinstance(error, (NotAuthorized, RateLimited, QueueFull, Locked))
        note.settle(Outcome.REFUSED if refused else Outcome.USAGE, error.message)


def failed(error_id: str) -> None:
    """The current request hit an unexpected error, logged under `error_id`."""
    note = _current.get()
    if note is not None:
        note.settle(Outcome.ERROR, f"error id {error_id}")


def duplicate(job: int) -> None:
    """The request was a resubmit (Slack's retry, a double click or submit) that found `job`."""
    note = _current.get()
    if note is not None:
        note.job = job
        note.settle(Outcome.DUPLICATE, f"duplicate of job {job}")


def about(app: str | None = None, job: int | None = None) -> None:
    """The app and job the current request turned out to be about (from the job row, or what a
    shortcut found in a message)."""
    note = _current.get()
    if note is None:
        return
    if app:
        note.app = app
    if job is not None:
        note.job = job


def describe(body: dict[str, Any]) -> Note | None:
    """Who asked what, where, from Slack's payload; None for what is not audited (chat). Any
    shape is read without raising: this runs before the listener, outside the error path."""
    kind = body.get("type")
    if body.get("command"):
        text = str(body.get("text") or "")
        words = text.split()
        action = words[0].lower() if words else "help"
        parsed = _parse(text)
        app, job = _target(parsed)
        return Note(
            str(body.get("user_id") or ""),
            Kind.COMMAND,
            action[:32],
            app,
            _text(body.get("channel_id")),
            _bounded(f"/ecr {text}"),
            job=job,
            text=text,
            parsed=parsed,
        )
    user = str(_field(body, "user", "id") or "")
    channel = _text(_field(body, "channel", "id"))
    if kind == "block_actions":
        actions = body.get("actions")
        clicked = _dict(actions[0] if isinstance(actions, list) and actions else None)
        name = _ACTIONS.get(str(clicked.get("action_id")), str(clicked.get("action_id"))[:32])
        value = str(clicked.get("value") or _field(clicked, "selected_option", "value") or "")
        app = value if name == "diagnose" else None
        # Retry and Cancel carry a job id; the listener names its app from the job row.
        job = _job_of(value) if name in ("retry", "cancel") else None
        said = f"{name} of job {value}" if name in ("retry", "cancel") else value
        return Note(user, Kind.BUTTON, name, app, channel, _bounded(said), job=job)
    if kind == "message_action":
        name = _SHORTCUTS.get(str(body.get("callback_id")), "shortcut")
        return Note(user, Kind.SHORTCUT, name, None, channel, _bounded(body.get("message_ts")))
    if kind == "view_submission":
        view = _dict(body.get("view"))
        name = _VIEWS.get(str(view.get("callback_id")), "modal")
        values = _field(view, "state", "values")
        app = _text(_field(values, "app", "app", "selected_option", "value"))
        sha = _field(values, "sha", "sha", "value")
        detail = f"sha {sha}" if sha else None
        return Note(user, Kind.MODAL, name, app, None, _bounded(detail))
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _field(value: object, *path: str) -> Any:
    """`value[a][b]...`, or None where a step is missing or not an object."""
    for key in path:
        value = _dict(value).get(key)
    return value


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)[:MAX_DETAIL]


def command(text: str) -> cmd.Command:
    """The slash command `text` parsed (its UserError raised): the current request's parse when
    it is that request's text, so the words are read once per request."""
    note = _current.get()
    parsed = note.parsed if note is not None and note.text == text else None
    if parsed is None:
        parsed = _parse(text)
    if isinstance(parsed, UserError):
        raise parsed
    return parsed


def _parse(text: str) -> cmd.Command | UserError:
    try:
        return cmd.parse(unescape(text))
    except UserError as error:
        return error


def _target(parsed: cmd.Command | UserError) -> tuple[str | None, int | None]:
    """The app and job a command names, as the command's parser reads it (the listener reads
    the same parse): `diagnose --branch x my-app` is about my-app, `cancel 12` about job 12.
    Words that are off (a UserError): the note says `usage`, about nothing."""
    match parsed:
        case cmd.Push(app) | cmd.Diagnose(app) | cmd.Audit(app):
            return app, None
        case cmd.Lock(app) | cmd.Unlock(app) | cmd.Promote(app):
            return app, None
        case cmd.Cancel(job_id):
            return None, job_id
    return None, None


def _job_of(value: str) -> int | None:
    try:
        return cmd.job_id(value)
    except UserError:
        return None


def _bounded(value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
