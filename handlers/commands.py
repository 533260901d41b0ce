"""`/ecr`: parse, authorize, make one call, answer in the acknowledgement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.domain import commands as cmd
from bot.domain.access import Action
from bot.domain.models import PushRequest
from bot.domain.ports import Destination, Published
from bot.domain.promotion import PromotionRequest
from bot.render import audit as audit_render
from bot.render import common, promotion
from bot.render import locks as locks_render
from bot.render import push as render
from bot.render import report as report_render
from bot.services import audit
from bot.services.diagnose import DiagnoseRequest
from handlers import auditing
from handlers.errors import replying
from handlers.middleware import services_of


def _preview_to(respond: Respond) -> Callable[[Published | None], None]:
    def reply(built: Published | None) -> None:
        if built is None:
            respond(text=common.report_failed(), response_type="ephemeral")
            return
        respond(
            text=report_render.headline(built.report),
            blocks=report_render.slack_blocks(built.report),
            response_type="ephemeral",
        )

    return reply


def ecr(ack: Ack, command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    services = services_of(context)
    user, channel = command["user_id"], command.get("channel_id")

    def reply(text: str, **extra: Any) -> None:
        ack(text=text, response_type="ephemeral", **extra)

    with replying(reply):
        services.catalog.slack.channel_rule.check(channel)
        parsed = auditing.command(command.get("text") or "")  # parsed once, for the audit note
        match parsed:
            case cmd.Push(app, sha, version):
                request = PushRequest(app, sha, version, user, channel, command.get("response_url"))
                # Slack sends one trigger_id per invocation: a retried request maps to its job.
                job, created = services.jobs.submit(request, command.get("trigger_id"))
                if created:
                    auditing.about(job.app, job.id)
                else:
                    auditing.duplicate(job.id)
                reply(common.queued(job.id, job.app, created))
            case cmd.Jobs(limit):
                jobs = services.jobs.recent(user, limit)
                promotions = services.promotions.recent(user, limit)
                reply("Recent jobs", blocks=render.jobs_table(jobs, promotions))
            case cmd.Cancel(job_id):
                auditing.about(services.jobs.app_of(job_id), job_id)
                job = services.jobs.cancel(job_id, user)
                reply(f"Job {job.id}: cancel requested ({job.state.value}).")
            case cmd.Diagnose(app, branch, environment, sha):
                asked = DiagnoseRequest(app, branch, environment, sha)
                where = Destination(channel, reply_url=command.get("response_url"))
                services.diagnose.submit(asked, user, where)
                reply(common.diagnosing(app))
            case cmd.Report(dry_run=True):
                services.reports.preview(_preview_to(respond), user)
                reply(common.report_building(preview=True))
            case cmd.Report(schedule=True):
                reply(common.report_schedule(services.reports.next_run()))
            case cmd.Report():
                services.reports.post(channel, user, command.get("response_url"))
                reply(common.report_building(preview=False))
            case cmd.Audit(app, who, within):
                services.access.require(user, Action.AUDIT)
                page = audit.latest(services.audit, app, who, within)
                reply(audit_render.headline(page), blocks=audit_render.slack_blocks(page))
            case cmd.Lock(app, environment, reason):
                held = services.locks.lock(user, app, environment, reason)
                reply(locks_render.locked(held, mine=held.locked_by == user))
            case cmd.Unlock(app, environment):
                reply(locks_render.unlocked(services.locks.unlock(user, app, environment)))
            case cmd.Locks():
                held_now = services.locks.held(user)
                reply(locks_render.headline(held_now), blocks=locks_render.slack_blocks(held_now))
            case cmd.Promote(app, ref, environment):
                wanted = PromotionRequest(
                    app, ref, environment, user, channel, command.get("response_url")
                )
                done = services.promotions.submit(wanted)
                reply(promotion.accepted(wanted) if done is None else promotion.already(done))
            case cmd.Help():
                reply("ecrbot help", blocks=common.help_blocks())
