"""Every request into the audit log: who, what, where, and how it ended.

The middleware describes each request from Slack's payload before the listener runs and records
it after (write-behind: never on the acknowledgement's clock). The outcome is the one error
path's to say (`handlers/errors.replying`), or a listener's when it answers without raising (a
modal's field errors): both mark the request's note (`answered_with`, `failed`), which lives in a
context variable because Bolt runs the listener on the middleware's thread
(`process_before_response=True`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bot.domain.audit import AuditEntry, Kind, Outcome
from bot.domain.errors import NotAuthorized, QueueFull, RateLimited, UserError
from bot.domain.locks import Locked
from bot.render.ids import ActionId, CallbackId

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
}
_VIEWS: dict[str, str] = {CallbackId.PUSH_MODAL: "push", CallbackId.DIAGNOSE_MODAL: "diagnose"}
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
    outcome: Outcome = Outcome.OK
    reason: str | None = None

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
        )


_current: ContextVar[Note | None] = ContextVar("ecrbot_audit_note", default=None)


def begin(body: dict[str, Any]) -> tuple[Note | None, object]:
    """Describe the request and make it the current one; returns (note, token for end())."""
    note = describe(body)
    return note, _current.set(note)


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def answered_with(error: UserError) -> None:
    """The current request was answered with a user error: refused, or its words were off."""
    note = _current.get()
    if note is not None:
        refused = isinstance(error, (NotAuthorized, RateLimited, QueueFull, Locked))
        note.outcome = Outcome.REFUSED if refused else Outcome.USAGE
        note.reason = error.message


def failed(error_id: str) -> None:
    """The current request hit an unexpected error, logged under `error_id`."""
    note = _current.get()
    if note is not None:
        note.outcome, note.reason = Outcome.ERROR, f"error id {error_id}"


def about(app: str | None) -> None:
    """The app the current request turned out to be about (a shortcut finds it late)."""
    note = _current.get()
    if note is not None and app:
        note.app = app


def describe(body: dict[str, Any]) -> Note | None:
    """Who asked what, where, from Slack's payload; None for what is not audited (chat)."""
    kind = body.get("type")
    if body.get("command"):
        words = str(body.get("text") or "").split()
        action = words[0].lower() if words else "help"
        about_app = ("push", "diagnose", "audit", "lock", "unlock", "promote")
        app = words[1] if action in about_app and len(words) > 1 else None
        if app is not None and app.startswith("-"):
            app = None
        return Note(
            str(body.get("user_id") or ""),
            Kind.COMMAND,
            action[:32],
            app,
            body.get("channel_id"),
            _bounded(f"/ecr {body.get('text') or ''}"),
        )
    user = str((body.get("user") or {}).get("id") or "")
    channel = (body.get("channel") or {}).get("id")
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        name = _ACTIONS.get(str(action.get("action_id")), str(action.get("action_id"))[:32])
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
        app = value if name == "diagnose" else None
        return Note(user, Kind.BUTTON, name, app, channel, _bounded(value))
    if kind == "message_action":
        name = _SHORTCUTS.get(str(body.get("callback_id")), "shortcut")
        return Note(user, Kind.SHORTCUT, name, None, channel, _bounded(body.get("message_ts")))
    if kind == "view_submission":
        view = body.get("view") or {}
        name = _VIEWS.get(str(view.get("callback_id")), "modal")
        values = (view.get("state") or {}).get("values") or {}
        selected = ((values.get("app") or {}).get("app") or {}).get("selected_option") or {}
        sha = ((values.get("sha") or {}).get("sha") or {}).get("value")
        detail = f"sha {sha}" if sha else None
        return Note(user, Kind.MODAL, name, selected.get("value"), None, _bounded(detail))
    return None


def _bounded(value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
