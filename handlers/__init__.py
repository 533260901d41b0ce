"""Slack listeners: they only translate between Slack and the job service."""

from __future__ import annotations

from slack_bolt import App

from bot.render.ids import ActionId, CallbackId
from handlers import actions, commands, errors, events, home, middleware, views
from handlers.auditing import audited
from handlers.context import HandlerServices
from handlers.middleware import around_dispatch

__all__ = ["around_dispatch", "register"]


def register(app: App, services: HandlerServices) -> None:
    """Every listener, in one list; each request's audit note is `ok` only if it returns."""
    app.use(middleware.inject(services))
    app.command("/ecr")(audited(commands.ecr))
    app.action(ActionId.RETRY.value)(audited(actions.retry))
    app.action(ActionId.CANCEL.value)(audited(actions.cancel))
    app.action(ActionId.DIAGNOSE.value)(audited(actions.diagnose))
    app.action(ActionId.DIAGNOSE_PICK.value)(audited(actions.diagnose))
    app.action(ActionId.PROMOTE.value)(audited(actions.promote))
    app.action(ActionId.APPROVE.value)(audited(actions.approve))
    app.action(ActionId.REJECT.value)(audited(actions.reject))
    app.action(ActionId.PROMOTION_CANCEL.value)(audited(actions.cancel_promotion))
    app.action(ActionId.PROMOTION_RETRY.value)(audited(actions.retry_promotion))
    app.action(ActionId.HOME_PUSH.value)(audited(home.open_push))
    app.action(ActionId.HOME_DIAGNOSE.value)(audited(home.open_diagnose))
    app.action(ActionId.HOME_REPORT.value)(audited(home.report_preview))
    app.action(ActionId.HOME_PROMOTE.value)(audited(home.open_promote))
    app.shortcut(CallbackId.DIAGNOSE_MESSAGE.value)(audited(views.diagnose_message))
    app.view(CallbackId.DIAGNOSE_MODAL.value)(audited(views.diagnose_submitted))
    app.view(CallbackId.PUSH_MODAL.value)(audited(views.push_submitted))
    app.view(CallbackId.PROMOTE_MODAL.value)(audited(views.promote_submitted))
    app.event("message")(audited(events.message))
    app.event("app_mention")(audited(events.app_mention))
    app.event("app_home_opened")(audited(events.home_opened))
    app.event("subteam_members_changed")(audited(events.user_group_changed))
    app.event("subteam_updated")(audited(events.user_group_changed))
    app.error(errors.on_error)
