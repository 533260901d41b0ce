"""The baseline for ack latency: a Bolt app that only acknowledges /ecr, served like the bot
(gunicorn, one process, gthread, ECRBOT_HTTP_THREADS threads, Bolt's WSGI adapter, signatures
verified, auth.test answered once by the Slack stand-in like the bot's).
Run: `python -m benchmarks.minimal_bolt PORT SIGNING_SECRET SLACK_API_URL [THREADS]`."""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient


def build(secret: str, api_url: str) -> Any:
    app = App(
        signing_secret=secret,
        client=WebClient(token="xoxb-minimal-0123456789", base_url=api_url),
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/ecr")
    def ecr(ack: Ack) -> None:
        ack(text="Queued", response_type="ephemeral")

    return SlackRequestHandler(app)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, port: int, secret: str, api_url: str, threads: int) -> None:
        self._port, self._secret, self._api_url, self._threads = port, secret, api_url, threads
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"127.0.0.1:{self._port}")
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self._threads)
        self.cfg.set("keepalive", 5)
        self.cfg.set("accesslog", None)

    def load(self) -> Any:
        handler = build(self._secret, self._api_url)

        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") == "/healthz":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok"]
            return handler(environ, start_response)

        return wsgi


if __name__ == "__main__":
    port, secret, api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    _Gunicorn(port, secret, api_url, threads).run()
