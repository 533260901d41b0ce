"""Buttons on job messages: Retry, Cancel, Run diagnose."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.domain.commands import job_id
from bot.render import common
from bot.services.diagnose import DiagnoseRequest
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
        # The click's action_ts identifies it: Slack retrying the request finds the same job.
        key = f"retry:{action['value']}:{action.get('action_ts', '')}"
        job, created = services.jobs.retry(
            job_id(str(action.get("value"))), body["user"]["id"], key, body.get("response_url")
        )
        _ephemeral(respond)(common.queued(job.id, job.app, created))


def cancel(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    with replying(_ephemeral(respond)):
        job = services.jobs.cancel(job_id(str(action.get("value"))), body["user"]["id"])
        _ephemeral(respond)(f"Job {job.id}: cancel requested ({job.state.value}).")


def diagnose(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    channel = (body.get("channel") or {}).get("id")
    with replying(_ephemeral(respond)):
        services.diagnose.submit(
            DiagnoseRequest(app=action["value"]),
            body["user"]["id"],
            channel,
            body.get("response_url"),
        )
        _ephemeral(respond)(common.diagnosing(action["value"]))
