"""Modals: the message shortcut's and App Home's. Validation errors go back into the modal
(`response_action: errors`), as Slack shows them next to the field."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.errors import NotAuthorized, UsageError, UserError
from bot.domain.models import Job, PushRequest
from bot.domain.ports import Destination
from bot.domain.promotion import PromotionRequest
from bot.domain.push_rules import validate_sha, validate_version
from bot.render import common, promotion
from bot.render import home as render
from bot.render.escape import CHANNEL_ID
from bot.services.diagnose import DiagnoseRequest
from handlers import auditing
from handlers.errors import replying
from handlers.events import chat_message
from handlers.middleware import services_of

TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
MAX_FIELD_ERROR = 150  # Slack shows a field error under the input: keep it short


def diagnose_message(
    ack: Ack,
    shortcut: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Respond,
) -> None:
    """The message shortcut: diagnose the app the message (or its thread) names, into that
    thread; when it names none or several, ask in a modal."""
    ack()
    services = services_of(context)
    user, channel = shortcut["user"]["id"], (shortcut.get("channel") or {}).get("id", "")
    message = shortcut.get("message") or {}
    thread = str(message.get("thread_ts") or message.get("ts") or "")
    with replying(lambda text: respond(text=text, response_type="ephemeral")):
        allowed = services.home.diagnosable(user)
        if not allowed:
            raise NotAuthorized(
                "You may not diagnose any app.", "An app's pushers and the admins may."
            )
        # The message names the app, or its thread does (as triage reads them).
        said = chat_message({**message, "channel": channel})
        named = [app for app in services.triage.apps_in(said, user) if app in allowed]
        where = Destination(channel, thread, shortcut.get("response_url"))
        if len(named) == 1:
            auditing.about(named[0])
            services.diagnose.submit(DiagnoseRequest(named[0]), user, where)
            respond(text=common.diagnosing(named[0]), response_type="ephemeral")
            return
        metadata = {"channel": channel, "thread_ts": thread}
        client.views_open(
            trigger_id=shortcut["trigger_id"],
            view=render.diagnose_modal(named or allowed, metadata),
        )


def diagnose_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    services = services_of(context)
    user = body["user"]["id"]
    app = _selected(view, render.APP)
    try:
        services.diagnose.submit(DiagnoseRequest(app), user, _destination(view, user))
    except UserError as error:
        auditing.answered_with(error)
        ack(response_action="errors", errors={render.APP: _field_error(error)})
        return
    ack()


def push_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    """App Home's push form. Who asks is checked first: only then is the SHA looked up in the
    app's repository, before the modal closes. A double submit of the same modal finds the same
    job; the same modal submitted again with other content is refused (the view id is the key)."""
    services = services_of(context)
    user = body["user"]["id"]
    app, sha = _selected(view, render.APP), _typed(view, render.SHA)
    version = _typed(view, render.VERSION) or None
    spec = services.catalog.app(app)
    submitted: list[tuple[Job, bool]] = []
    key = f"view:{view.get('id', '')}"
    checks: list[tuple[str, Callable[[], object]]] = [
        # Unknown app, not a pusher: the app field's error, before the commit is looked at.
        (render.APP, lambda: services.jobs.authorize_push(app, user)),
        (render.SHA, lambda: validate_sha(sha)),
        (render.VERSION, lambda: validate_version(spec, version) if spec else None),
        (render.SHA, lambda: services.home.check_commit(app, sha, user)),
        # Queue full, or this form already pushed something else: the app field's error.
        (
            render.APP,
            lambda: submitted.append(
                services.jobs.submit(PushRequest(app, sha, version, user), key)
            ),
        ),
    ]
    for field, check in checks:
        try:
            check()
        except UserError as error:
            auditing.answered_with(error)
            ack(response_action="errors", errors={field: _field_error(error)})
            return
    ((job, created),) = submitted
    if created:
        auditing.about(job.app, job.id)
    else:  # a double submit of the same modal: the first one's job, nothing new
        auditing.duplicate(job.id)
    ack()
    services.home.show(user)


def promote_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """App Home's promote form: `/ecr promote` with the same rules; the thread goes to the
    catalog's channel. A bad ref is the ref field's error, anything else the target's."""
    services = services_of(context)
    user = body["user"]["id"]
    app, _, environment = _selected(view, render.TARGET).partition(":")
    ref = _typed(view, render.REF)
    auditing.about(app or None)
    wanted = PromotionRequest(app, ref, environment, user, None)
    try:
        done = services.promotions.submit(wanted)
    except UserError as error:
        auditing.answered_with(error)
        field = render.REF if isinstance(error, UsageError) else render.TARGET
        ack(response_action="errors", errors={field: _field_error(error)})
        return
    ack()
    # The answer in the person's DM with ecrbot: a Home tab has no response_url.
    said = promotion.accepted(wanted) if done is None else promotion.already(done)
    client.chat_postMessage(channel=user, text=said)
    services.home.show(user)


def _destination(view: dict[str, Any], user: str) -> Destination:
    """Where the modal was opened from (a message's thread), else the person's DM with ecrbot."""
    try:
        where = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        where = {}
    channel, thread = str(where.get("channel") or ""), str(where.get("thread_ts") or "")
    if CHANNEL_ID.fullmatch(channel) and TS.fullmatch(thread):
        return Destination(channel, thread)
    return Destination(None, to_user=user)


def _selected(view: dict[str, Any], block: str) -> str:
    option = _state(view, block).get("selected_option") or {}
    return str(option.get("value") or "")


def _typed(view: dict[str, Any], block: str) -> str:
    return str(_state(view, block).get("value") or "").strip()


def _state(view: dict[str, Any], block: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    return dict((values.get(block) or {}).get(block) or {})


def _field_error(error: UserError) -> str:
    """Field errors are plain text: no code spans, no mrkdwn."""
    text = f"{error.message} {error.next_step}".replace("`", "").strip()
    return text if len(text) <= MAX_FIELD_ERROR else text[: MAX_FIELD_ERROR - 1] + "…"
