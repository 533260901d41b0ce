"""Buttons on job messages: Retry, Cancel, Run diagnose, Promote; on a promotion: Approve /
Reject, Cancel and Retry."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.domain.approvals import ApprovalExpired
from bot.domain.commands import job_id
from bot.domain.ports import Destination
from bot.domain.promotion import PromotionRequest, promotion_ref
from bot.render import approval as approval_render
from bot.render import common, promotion
from bot.services.diagnose import DiagnoseRequest
from handlers import auditing
from handlers.errors import replying
from handlers.middleware import services_of


def _ephemeral(respond: Respond) -> Any:
    return lambda text: respond(text=text, response_type="ephemeral", replace_original=False)


def retry(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    with replying(_ephemeral(respond)):
        # One Retry button starts one push: a double click, or Slack retrying the request,
        # finds the job the first click started (the button's message identifies it).
        clicked_on = (body.get("container") or {}).get("message_ts") or action.get("action_ts")
        key = f"retry:{action['value']}:{clicked_on}"
        retried = job_id(str(action.get("value")))
        auditing.about(services.jobs.app_of(retried))  # so a refusal names the app too
        job, created = services.jobs.retry(
            retried, body["user"]["id"], key, body.get("response_url")
        )
        if created:
            auditing.about(job.app, job.id)
        else:
            auditing.duplicate(job.id)
        _ephemeral(respond)(common.queued(job.id, job.app, created))


def cancel(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    with replying(_ephemeral(respond)):
        cancelled = job_id(str(action.get("value")))
        auditing.about(services.jobs.app_of(cancelled), cancelled)
        job = services.jobs.cancel(cancelled, body["user"]["id"])
        _ephemeral(respond)(f"Job {job.id}: cancel requested ({job.state.value}).")


def diagnose(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """Run diagnose (the button, or the select where triage found several apps); from a
    message in a thread, the checklist goes into that thread."""
    ack()
    services = services_of(context)
    app = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
    channel = (body.get("channel") or {}).get("id")
    thread = (body.get("message") or {}).get("thread_ts")
    with replying(_ephemeral(respond)):
        where = Destination(channel, thread, body.get("response_url"))
        services.diagnose.submit(DiagnoseRequest(app=app), body["user"]["id"], where)
        _ephemeral(respond)(common.diagnosing(app))


def approve(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    _decide(ack, body, action, context, respond, approving=True)


def reject(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    _decide(ack, body, action, context, respond, approving=False)


def _decide(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    respond: Respond,
    approving: bool,
) -> None:
    """The value names the request and its digest; the service decides who may click it."""
    ack()
    services = services_of(context)
    message = body.get("message") or {}
    thread = message.get("thread_ts") or message.get("ts")
    user = body["user"]["id"]

    def close(note: str) -> None:
        """Edit the approval message: no buttons left, and what became of it."""
        blocks = approval_render.closed(message.get("blocks") or [], note)
        respond(text=str(message.get("text") or note), blocks=blocks, replace_original=True)

    with replying(_ephemeral(respond)):
        try:
            approval = services.promotions.decide(
                str(action.get("value") or ""), user, thread, approving
            )
        except ApprovalExpired:
            close(approval_render.EXPIRED)
            raise
        auditing.about(approval.app)
        close(approval_render.outcome(approval, approving, user))
        _ephemeral(respond)(approval_render.decided(approval, approving))


def promote(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """A finished push's Promote button: what the job pushed (ecrbot's record of it, never the
    button's word) goes to the environment, asked for by whoever clicked."""
    ack()
    services = services_of(context)
    user = body["user"]["id"]
    with replying(_ephemeral(respond)):
        number, _, environment = str(action.get("value") or "").partition(":")
        job = services.jobs.get(job_id(number), user)
        auditing.about(job.app, job.id)
        wanted = PromotionRequest(
            job.app,
            promotion_ref(job),
            environment,
            user,
            (body.get("channel") or {}).get("id"),
            body.get("response_url"),
        )
        done = services.promotions.submit(wanted)
        reply = promotion.accepted(wanted) if done is None else promotion.already(done)
        _ephemeral(respond)(reply)


def cancel_promotion(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """A running or waiting promotion's Cancel: the value names its record; the service
    decides who may stop it."""
    ack()
    services = services_of(context)
    with replying(_ephemeral(respond)):
        run_id = str(action.get("value") or "")
        auditing.about(services.promotions.app_of(run_id))  # so a refusal names the app too
        run = services.promotions.cancel(run_id, body["user"]["id"])
        _ephemeral(respond)(promotion.cancel_requested(run))


def retry_promotion(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """A failed or cancelled promotion's Retry: the same app, ref and environment from ecrbot's
    record (never the button's word), asked again by whoever clicked, through every check."""
    ack()
    services = services_of(context)
    with replying(_ephemeral(respond)):
        run_id = str(action.get("value") or "")
        auditing.about(services.promotions.app_of(run_id))
        wanted, done = services.promotions.retry(
            run_id, body["user"]["id"], body.get("response_url")
        )
        reply = promotion.accepted(wanted) if done is None else promotion.already(done)
        _ephemeral(respond)(reply)
