"""build_app(services) -> the Bolt app. No logic here: listeners live in handlers/."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

import handlers
from bot.bootstrap import Services, slack_client


class EcrbotApp(App):
    """Bolt's App, with each request's whole handling (listeners too) wrapped once."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self._services = services

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        return handlers.around_dispatch(
            self._services, body, lambda: super(EcrbotApp, self).dispatch(req)
        )


def build_app(services: Services) -> App:
    settings = services.settings
    secret = settings.slack_signing_secret
    app = EcrbotApp(
        services,
        client=slack_client(settings, retry_rate_limits=True),
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode has no HTTP requests to verify; HTTP mode always verifies signatures.
        request_verification_enabled=not settings.socket_mode,
        # Don't call auth.test at start-up: the bot starts even while Slack is unreachable.
        token_verification_enabled=False,
        # Listeners are quick (long work goes to the worker), so run them on the request thread:
        # no hop through Bolt's own listener pool, whose queue adds latency under load.
        process_before_response=True,
    )
    handlers.register(app, services)
    return app
