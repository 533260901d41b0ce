"""The App Home tab and the modals it opens (push, diagnose, promote)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.approvals import Approval
from bot.domain.home import HomeView
from bot.domain.models import Job
from bot.render import locks as locks_render
from bot.render import promotion_list
from bot.render.blocks import actions, button, context, section
from bot.render.escape import code, mention, text
from bot.render.ids import ActionId, CallbackId
from bot.render.push import ICONS

Link = Callable[[Job], str | None]  # a job's thread, as a URL (None: no thread yet)

# Block and action ids of the modals' inputs (view_submission reads them; errors name them).
APP, SHA, VERSION = "app", "sha", "version"
TARGET, REF = "target", "ref"  # the promote modal: "app:environment", and the version or SHA


def home(view: HomeView, link: Link) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="ecrbot"), _buttons(view)]
    blocks += [DividerBlock(), section("*Your recent jobs*")]
    blocks += [_job_line(job, link) for job in view.mine] or [context("No jobs yet.")]
    blocks += [DividerBlock(), section("*Queued and running now*")]
    blocks += [_job_line(job, link) for job in view.active] or [context("Nothing is running.")]
    if view.approvals:
        blocks += [DividerBlock(), section("*Waiting for approval*")]
        blocks += [_approval_line(approval, view) for approval in view.approvals]
    blocks += [DividerBlock(), *promotion_list.home_blocks(view.promotions)]
    if view.locks:
        blocks += [DividerBlock(), section("*Locks*")]
        blocks += [context(locks_render.line(lock)) for lock in view.locks]
    blocks += [DividerBlock(), section("*Last health report*"), context(_report_line(view))]
    return View(type="home", blocks=blocks).to_dict()


def promote_modal(targets: list[tuple[str, str]]) -> dict[str, Any]:
    """Where to (an app and one of its environments), and which image (a version or SHA)."""
    options = [
        Option(text=f"{app} → {env}"[:75], value=f"{app}:{env}") for app, env in targets[:100]
    ]
    return View(
        type="modal",
        callback_id=CallbackId.PROMOTE_MODAL,
        title="Promote an image",
        submit="Promote",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=TARGET,
                label="App and environment",
                element=StaticSelectElement(
                    action_id=TARGET, placeholder="Choose where to", options=options
                ),
            ),
            InputBlock(
                block_id=REF,
                label="Version or SHA tag",
                hint="As pushed, e.g. 1.4.0: copied by digest from the environment before it.",
                element=PlainTextInputElement(action_id=REF, max_length=128),
            ),
        ],
    ).to_dict()


def _approval_line(approval: Approval, view: HomeView) -> Block:
    approvers = view.approvers.get(approval.id, ())
    deciders = promotion_list.deciders(approvers, admins_only=approval.gate is not None)
    return context(
        f":raised_hand: {code(approval.app, 100)} {code(approval.ref, 128)} → "
        f"{code(approval.environment, 63)}, asked by {mention(approval.requested_by)}, expires "
        f"{approval.expires_at:%Y-%m-%d %H:%M} UTC: {deciders} may Approve or Reject in its "
        "thread"
    )


def push_modal(apps: list[str]) -> dict[str, Any]:
    """App (only those the person may push), SHA, optional version."""
    return View(
        type="modal",
        callback_id=CallbackId.PUSH_MODAL,
        title="Push to ECR",
        submit="Push",
        close="Cancel",
        blocks=[
            _app_input(apps, "Which app"),
            InputBlock(
                block_id=SHA,
                label="Git commit SHA",
                hint="7 to 40 hex characters: `git rev-parse HEAD` in your checkout.",
                element=PlainTextInputElement(action_id=SHA, max_length=40, min_length=7),
            ),
            InputBlock(
                block_id=VERSION,
                label="Version tag",
                optional=True,
                hint="Also tag the image with this version, e.g. 1.4.0.",
                element=PlainTextInputElement(action_id=VERSION, max_length=128),
            ),
        ],
    ).to_dict()


def diagnose_modal(apps: list[str], where: dict[str, str]) -> dict[str, Any]:
    """Pick an app to diagnose; `where` (channel, thread) travels in private_metadata."""
    return View(
        type="modal",
        callback_id=CallbackId.DIAGNOSE_MODAL,
        title="Diagnose with ecrbot",
        submit="Diagnose",
        close="Cancel",
        private_metadata=json.dumps(where),
        blocks=[_app_input(apps, "Which app is this about?")],
    ).to_dict()


def _app_input(apps: list[str], label: str) -> InputBlock:
    options = [Option(text=app[:75], value=app) for app in apps[:100]]
    return InputBlock(
        block_id=APP,
        label=label,
        element=StaticSelectElement(action_id=APP, placeholder="Choose an app", options=options),
    )


def _buttons(view: HomeView) -> Block:
    buttons = []
    if view.pushable:
        buttons.append(button("Push", ActionId.HOME_PUSH, "push", style="primary"))
    if view.diagnosable:
        buttons.append(button("Diagnose", ActionId.HOME_DIAGNOSE, "diagnose"))
    if view.promotable:
        buttons.append(button("Promote", ActionId.HOME_PROMOTE, "promote"))
    if view.may_preview_report:
        buttons.append(button("Report preview", ActionId.HOME_REPORT, "report"))
    if not buttons:
        return context("You may not push or diagnose any app yet: ask #platform-team.")
    return actions(*buttons, block_id="home-actions")


def _job_line(job: Job, link: Link) -> Block:
    url = link(job)
    safe = url is not None and url.startswith("https://") and not set(url) & set("<>| ")
    name = f"<{url}|job {job.id}>" if safe else f"job {job.id}"
    version = f" {code(job.version)}" if job.version else ""
    return context(
        f"{ICONS.get(job.state, '')} {name} · *{text(job.app)}* {code(job.sha[:12])}{version}"
        f" · {job.state.value}"
    )


def _report_line(view: HomeView) -> str:
    figures = view.last_report
    if figures is None:
        return "No report has been posted yet."
    return (
        f"{figures.taken_at:%Y-%m-%d %H:%M} UTC: {figures.repositories} repositories, "
        f"{figures.images} images, {figures.action_items} items need action."
    )
