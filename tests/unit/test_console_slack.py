"""The console's local Slack accepts response_url posts only at the URLs it handed out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from bot.entrypoints.console.slack import ConsoleSlack


class Sink:
    def __init__(self) -> None:
        self.responses: list[str] = []

    def posted(self, message: Any) -> None: ...

    def updated(self, message: Any) -> None: ...

    def responded(self, text: str, blocks: list[Any]) -> None:
        self.responses.append(text)

    def uploaded(self, files: Any) -> None: ...


def test_only_issued_response_urls_are_accepted(tmp_path: Path) -> None:
    sink = Sink()
    slack = ConsoleSlack(sink, "xoxb-console", tmp_path).start()
    try:
        issued = slack.response_url("command-1")
        assert requests.post(issued, json={"text": "hello"}, timeout=5).status_code == 200
        forged = [f"{slack.base_url}/response/command-1", f"{slack.base_url}/response/x/y"]
        for url in forged:
            assert requests.post(url, json={"text": "injected"}, timeout=5).status_code == 404
        answer = requests.post(f"{slack.api_url}chat.postMessage", data={"channel": "C"}, timeout=5)
        assert answer.json()["error"] == "invalid_auth"
    finally:
        slack.stop()
    assert sink.responses == ["hello"]
