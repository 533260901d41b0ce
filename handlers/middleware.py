"""Bolt middleware: services reach listeners through the context, never through globals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from handlers import auditing
from handlers.context import HandlerServices


def inject(services: HandlerServices) -> Callable[..., Any]:
    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    return middleware


def around_dispatch(
    services: HandlerServices, body: dict[str, Any], dispatch: Callable[[], BoltResponse]
) -> BoltResponse:
    """Around the whole of one request, listener included: Bolt runs listeners after its
    middleware chain has returned, so what must wrap them (the count of requests in flight
    that background work yields to, the audit note) wraps `App.dispatch` instead."""
    note, token = auditing.begin(body)
    try:
        with services.ack_first.request():
            return dispatch()
    finally:
        auditing.end(token)
        if note is not None:
            services.audit.record(note.entry())  # write-behind: off the ack's clock


def services_of(context: BoltContext) -> HandlerServices:
    services: HandlerServices = context["services"]
    return services
