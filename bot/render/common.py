"""Messages that are not about one job: help, usage errors, acknowledgements."""

from __future__ import annotations

import functools
from datetime import datetime

from bot.domain.commands import USAGES
from bot.domain.errors import UserError
from bot.render.blocks import Blocks, context, section, to_dicts
from bot.render.escape import channel as channel_link
from bot.render.escape import code, mrkdwn


@functools.cache  # the same every time; slack_sdk's block models cost more than the rest of the ack
def help_blocks() -> Blocks:
    """`/ecr help`: every command with an example. Shared between requests: not to be changed."""
    lines = [f"• `{u.usage}`: {u.summary}\n   e.g. `{u.example}`" for u in USAGES]
    return to_dicts(
        [
            section(
                "*ecrbot* pushes images to ECR the way runbook RB-0023 says.\n" + "\n".join(lines)
            ),
            context("Only an app's pushers and the platform admins may push it."),
        ]
    )


def user_error(error: UserError) -> str:
    """A user error as one ephemeral message: what is wrong, then what to do."""
    message, next_step = mrkdwn(error.message), mrkdwn(error.next_step)
    return f":warning: {message}" + (f"\n{next_step}" if next_step else "")


def unexpected(error_id: str) -> str:
    return (
        f":x: Something went wrong on our side (error id {code(error_id)}). Nothing was started. "
        "Try again, or tell #platform-team the error id."
    )


def queued(job_id: int, app: str, created: bool) -> str:
    if not created:
        return f"Already queued as job {job_id}: follow it in the thread."
    return f"Queued {code(app)} as job {job_id}: progress follows in a thread in this channel."


def diagnosing(app: str | None) -> str:
    what = code(app) if app else "the ecrbot platform"
    return f"Diagnosing {what}: the checklist follows in a thread in this channel."


def report_building(preview: bool) -> str:
    if preview:
        return "Building a preview of the registry report; it will appear here, only for you."
    return "Building the registry report; it will be posted in this channel."


def report_schedule(next_run: datetime | None) -> str:
    if next_run is None:
        return "No registry report is scheduled (`report.enabled: false` in the catalog)."
    return f"The next registry report is due {next_run:%A %d %B %Y, %H:%M %Z}."


def report_failed() -> str:
    return ":x: The registry report could not be built; the bot's log says why."


def not_recorded(job_id: int, app: str) -> str:
    """Told through response_url when an acknowledged job could not be stored."""
    return (
        f":x: Job {job_id} ({code(app)}) could not be recorded: ecrbot's database refused the "
        "write, so nothing will run. Try again in a minute; if it keeps happening, tell "
        "#platform-team."
    )


def cant_post(channel: str | None, error: str, job_id: int | None = None) -> str:
    """Told through response_url when Slack refuses the bot in the channel it was asked in."""
    where = channel_link(channel) if channel else "this conversation"
    if error == "missing_scope":
        why = (
            "ecrbot's Slack app lacks a permission it needs (Slack says `missing_scope`): "
            "an admin should reinstall it from the repository's `manifest.yml`."
        )
    elif error == "is_archived":
        why = f"I can't post in {where}: it is archived. Use /ecr in another channel."
    else:
        why = (
            f"I can't post in {where} (Slack says {code(error)}). "
            "Invite me with `/invite @ecrbot`, or use /ecr in the platform channel."
        )
    if job_id is not None:
        why += f" Job {job_id} runs anyway: I will tell you here how it ends; `/ecr jobs` shows it."
    return f":warning: {why}"
