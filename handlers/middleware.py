"""Bolt middleware: services reach listeners through the context, never through globals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from handlers import auditing
from handlers.context import HandlerServices


class _Inject(Middleware):
    """A Middleware subclass, not a function: Bolt calls it directly, without working out
    which arguments a function middleware asks for on every request (issue #19)."""

    def __init__(self, services: HandlerServices) -> None:
        self._services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        req.context["services"] = self._services
        return next()


def inject(services: HandlerServices) -> Middleware:
    return _Inject(services)


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
