"""build_app(services) -> the Bolt app. No logic here: listeners live in handlers/."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware.authorization.single_team_authorization import (
    SingleTeamAuthorization,
)

import handlers
from bot.bootstrap import Services, slack_client
from bot.runtime.warmup import settle_heap


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

    def warm(self) -> None:
        """Ask Slack's `auth.test` now, off any request. With token verification off (the bot
        starts while Slack is unreachable) Bolt asks it on the first request, and every request
        in flight before the first answer asks it too, each inside its acknowledgement."""
        for middleware in self._middleware_list:
            if isinstance(middleware, SingleTeamAuthorization) and not middleware.auth_test_result:
                middleware.auth_test_result = self.client.auth_test()


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
    if settings.slack_bot_token is not None:
        services.warmup.run("slack_auth_test", app.warm)
    services.warmup.run("heap", settle_heap)  # the last: everything is built
    return app
