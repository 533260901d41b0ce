"""App Home's buttons: Push, Diagnose and Promote open their modals, Report preview answers in
the DM.

A Home tab has no response_url: answers and errors go to the person's DM with ecrbot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.domain.errors import NotAuthorized
from bot.domain.ports import Published
from bot.render import common
from bot.render import home as render
from bot.render import report as report_render
from handlers.errors import replying
from handlers.middleware import services_of


def open_push(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user = body["user"]["id"]
    with replying(_dm(client, user)):
        apps = services_of(context).home.pushable(user)
        if not apps:
            raise NotAuthorized("You may not push any app.", "Ask #platform-team to add you.")
        client.views_open(trigger_id=body["trigger_id"], view=render.push_modal(apps))


def open_diagnose(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user = body["user"]["id"]
    with replying(_dm(client, user)):
        apps = services_of(context).home.diagnosable(user)
        if not apps:
            raise NotAuthorized("You may not diagnose any app.", "Ask #platform-team.")
        client.views_open(trigger_id=body["trigger_id"], view=render.diagnose_modal(apps, {}))


def open_promote(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user = body["user"]["id"]
    with replying(_dm(client, user)):
        targets = services_of(context).home.promotable(user)
        if not targets:
            raise NotAuthorized(
                "You may not promote any app, or no app has environments.",
                "An app's pushers and the admins may promote; ask #platform-team.",
            )
        client.views_open(trigger_id=body["trigger_id"], view=render.promote_modal(targets))


def report_preview(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user = body["user"]["id"]
    tell = _dm(client, user)

    def reply(built: Published | None) -> None:
        if built is None:
            tell(common.report_failed())
            return
        client.chat_postMessage(
            channel=user,
            text=report_render.headline(built.report),
            blocks=report_render.slack_blocks(built.report),
        )

    with replying(tell):
        services_of(context).reports.preview(reply, user)
        tell(common.report_building(preview=True))


def _dm(client: WebClient, user: str) -> Callable[[str], object]:
    return lambda text: client.chat_postMessage(channel=user, text=text)
