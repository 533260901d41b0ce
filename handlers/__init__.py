"""Slack listeners: they only translate between Slack and the job service."""

from __future__ import annotations

from slack_bolt import App

from bot.bootstrap import Services
from bot.render.ids import ActionId
from handlers import actions, commands, errors, middleware


def register(app: App, services: Services) -> None:
    """Every listener, in one list."""
    app.use(middleware.inject(services))
    app.command("/ecr")(commands.ecr)
    app.action(ActionId.RETRY.value)(actions.retry)
    app.action(ActionId.CANCEL.value)(actions.cancel)
    app.action(ActionId.DIAGNOSE.value)(actions.diagnose)
    app.error(errors.on_error)
