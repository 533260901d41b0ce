"""The Slack Web API client of a bot process (listeners, the outbox, the user-group cache)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.config import Settings


def slack_client(settings: Settings, *, retry_rate_limits: bool, timeout: int = 10) -> WebClient:
    """A WebClient on the configured API URL; listeners' clients also wait out 429s."""
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=2)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=handlers
    )
