"""Slack listeners: they only translate between Slack and the job service."""

from __future__ import annotations

from slack_bolt import App

from bot.bootstrap import Services
from bot.render.ids import ActionId, CallbackId
from handlers import actions, commands, errors, events, home, middleware, views
from handlers.middleware import around_dispatch

__all__ = ["around_dispatch", "register"]


def register(app: App, services: Services) -> None:
    """Every listener, in one list."""
    app.use(middleware.inject(services))
    app.command("/ecr")(commands.ecr)
    app.action(ActionId.RETRY.value)(actions.retry)
    app.action(ActionId.CANCEL.value)(actions.cancel)
    app.action(ActionId.DIAGNOSE.value)(actions.diagnose)
    app.action(ActionId.DIAGNOSE_PICK.value)(actions.diagnose)
    app.action(ActionId.HOME_PUSH.value)(home.open_push)
    app.action(ActionId.HOME_DIAGNOSE.value)(home.open_diagnose)
    app.action(ActionId.HOME_REPORT.value)(home.report_preview)
    app.shortcut(CallbackId.DIAGNOSE_MESSAGE.value)(views.diagnose_message)
    app.view(CallbackId.DIAGNOSE_MODAL.value)(views.diagnose_submitted)
    app.view(CallbackId.PUSH_MODAL.value)(views.push_submitted)
    app.event("message")(events.message)
    app.event("app_mention")(events.app_mention)
    app.event("app_home_opened")(events.home_opened)
    app.event("subteam_members_changed")(events.user_group_changed)
    app.event("subteam_updated")(events.user_group_changed)
    app.error(errors.on_error)
