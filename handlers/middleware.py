"""Bolt middleware: services reach listeners through the context, never through globals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from bot.bootstrap import Services


def inject(services: Services) -> Callable[..., Any]:
    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        with services.ack_first.request():
            next()

    return middleware


def services_of(context: BoltContext) -> Services:
    services: Services = context["services"]
    return services
