"""Serving: HTTP mode under gunicorn (one process owns the worker), or Socket Mode."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gunicorn.app.base import BaseApplication
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.bootstrap import Services, build_services, extras
from bot.config import Settings, load_catalog
from bot.entrypoints.app import build_app
from bot.runtime.request_guard import RequestGuard

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(services: Services) -> WsgiApp:
    """The public port: Bolt on /slack/events and /healthz for the load balancer. /readyz and
    /metrics are only on the ops port (`ops_app`)."""
    slack = SlackRequestHandler(build_app(services))
    secret = services.settings.slack_signing_secret
    guard = (
        RequestGuard(secret.get_secret_value(), marks=services.marks)
        if secret is not None
        else None
    )

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path in OPS_PATHS:
            return _json(start_response, "404 Not Found", {"error": "not on this port"})
        refused = guard.refusal(environ) if guard is not None else None
        if refused is not None:
            status, reason = refused
            log.warning("refused a request to %s: %s", str(path)[:100], reason)
            services.metrics.refused_request(reason)
            return _json(start_response, status, {"error": reason})
        return slack(environ, start_response)

    # Counted in flight until gunicorn has sent the answer, refusals included (issue #19).
    return services.ack_first.wsgi(app)


OPS_PATHS = ("/readyz", "/metrics")


def ops_app(services: Services) -> WsgiApp:
    """The ops port: /healthz (process up), /readyz (dependencies), /metrics; nothing else."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/readyz":
            checks = services.readiness()
            ready = all(value == "ok" for value in checks.values())
            status = "200 OK" if ready else "503 Service Unavailable"
            # The audit log's integrity is said, not counted (bot/runtime/audit_check.py).
            audit = services.audit_check.status
            return _json(
                start_response, status, {"ready": ready, "checks": checks, "audit_log": audit}
            )
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [services.metrics.exposition()]
        return _json(
            start_response, "404 Not Found", {"error": "ops port: /healthz /readyz /metrics"}
        )

    return app


def _json(start_response: Callable[..., Any], status: str, body: object) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return  # probes every few seconds would drown the log


def ops_server(services: Services) -> WSGIServer:
    """The ops port's own small server, in HTTP and Socket Mode alike, bound per settings."""
    settings = services.settings
    server = make_server(
        settings.ops_host,
        settings.ops_port,
        ops_app(services),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="ecrbot-ops-http", daemon=True).start()
    return server


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured in code: 1 process x N threads, so one process owns the worker pool."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"0.0.0.0:{self._settings.port}")
        # Several processes would each start a worker pool with its own per-app locks.
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self._settings.http_threads)
        self.cfg.set("timeout", 60)
        # The worker drains jobs for ECRBOT_DRAIN_SECONDS on SIGTERM, then flushes Slack calls.
        self.cfg.set("graceful_timeout", int(self._settings.drain_s) + 15)
        self.cfg.set("keepalive", 5)
        self.cfg.set("worker_exit", _stop_services)

    def load(self) -> WsgiApp:
        # Runs in the worker process after the fork, so threads start in the right process.
        services = build_services(self._settings)
        services.start()
        _running.append(services)
        app = wsgi_app(services)  # before the ops port: /readyz waits for the app's warm-up
        _ops.append(ops_server(services))
        return app


def favour_requests(
    settings: Settings, set_interval: Callable[[float], None] = sys.setswitchinterval
) -> None:
    """Shorter turns at the GIL (ECRBOT_SWITCH_INTERVAL_MS), so that background threads hold
    up an acknowledgement by less. Set before gunicorn forks: its worker inherits it."""
    set_interval(settings.switch_interval_ms / 1000)


_running: list[Services] = []
_ops: list[WSGIServer] = []


def _stop_services(_server: Any, _worker: Any) -> None:
    for server in _ops:
        server.shutdown()
    for services in _running:
        services.stop()


def _wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT. In the image the bot is PID 1, whose signals the kernel
    drops unless a handler is installed, so without this `docker stop` would wait and kill."""
    stop = threading.Event()

    def on_signal(number: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(number).name)
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)
    stop.wait()


def serve(settings: Settings) -> None:
    """Run the bot until stopped: Socket Mode when SLACK_APP_TOKEN is set, else HTTP."""
    extras.require_for(settings)  # said here, not in a gunicorn worker's traceback
    favour_requests(settings)
    if settings.socket_mode:
        assert settings.slack_app_token is not None
        services = build_services(settings)
        services.start()
        bolt = build_app(services)  # before the ops port: /readyz waits for its warm-up
        ops = ops_server(services)
        try:
            log.info(
                "serving Slack over Socket Mode; /healthz /readyz /metrics on %s:%s",
                settings.ops_host,
                settings.ops_port,
            )
            handler = SocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
            handler.connect()  # type: ignore[no-untyped-call]
            _wait_for_signal()
            log.info("stopping: no new events; draining jobs for up to %.0f s", settings.drain_s)
            handler.close()  # type: ignore[no-untyped-call]
        finally:
            ops.shutdown()
            services.stop()
        log.info("stopped")
        return
    # A bad catalog is said here, not in a worker's traceback.
    load_catalog(settings.config_path, settings.build_secrets_dir)
    log.info(
        "serving Slack over HTTP on port %s (/slack/events); /readyz /metrics on %s:%s",
        settings.port,
        settings.ops_host,
        settings.ops_port,
    )
    _Gunicorn(settings).run()
