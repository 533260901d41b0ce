"""The console's Slack: a small Web API server on 127.0.0.1 that shows what the bot posts.

The bot's own WebClient (listeners, the outbox, the directory) and Bolt's `respond` talk to it
exactly as they talk to Slack, so the console runs the real handlers, reporter and posters. It
answers the methods the bot calls and hands every message, edit, reply and file to a `Sink`.
"""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

JSON = dict[str, Any]
BOT_USER = "UECRBOT"
TEAM = "T0CONSOLE"


@dataclass
class Message:
    """A channel message as it stands (after edits)."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[JSON] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: JSON = field(default_factory=dict)
    edits: int = 0

    @property
    def job(self) -> JSON:
        """The job a parent message names in its metadata ({} for other messages)."""
        if self.metadata.get("event_type") != "ecrbot_job":
            return {}
        payload = self.metadata.get("event_payload")
        return payload if isinstance(payload, dict) else {}


@dataclass(frozen=True)
class File:
    """A file the bot uploaded, saved under the console's files directory."""

    name: str
    title: str
    path: Path
    size: int
    thread_ts: str | None


class Sink(Protocol):
    """Where the console Slack sends what the bot says."""

    def posted(self, message: Message) -> None: ...

    def updated(self, message: Message) -> None: ...

    def responded(self, text: str, blocks: list[JSON]) -> None: ...

    def uploaded(self, files: Sequence[File]) -> None: ...


class ConsoleSlack:
    """Slack's Web API, response URLs and file uploads, answered locally."""

    def __init__(
        self,
        sink: Sink,
        token: str,
        files_dir: Path,
        groups: Mapping[str, Sequence[str]] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.sink = sink
        self._token = token
        self._files_dir = files_dir
        self._groups = {group: list(users) for group, users in (groups or {}).items()}
        self._names = dict(names or {})
        self._lock = threading.RLock()
        self._messages: dict[tuple[str, str], Message] = {}
        self._pending: dict[str, JSON] = {}
        self._uploads: dict[str, bytes] = {}
        self._ts = itertools.count(1)
        # Response URLs carry a secret, like Slack's: anything else on this machine that finds
        # the port still can't post into the console as if it were the bot.
        self._response_secret = secrets.token_urlsafe(24)
        self.last_call = time.monotonic()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.console = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="ecrbot-console-slack",
            daemon=True,
        )

    def start(self) -> ConsoleSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/response/{self._response_secret}/{name}"

    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages.values())

    def parent_of_job(self, job_id: int) -> Message | None:
        with self._lock:
            for message in self._messages.values():
                if message.job.get("job_id") == job_id and message.thread_ts is None:
                    return message
        return None

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        parts = urlsplit(path)
        with self._lock:
            self.last_call = time.monotonic()
            if parts.path.startswith("/upload/"):
                return self._upload(parts.path.removeprefix("/upload/"), body)
            params = _params(parts.query, headers.get("Content-Type") or "", body)
            if parts.path.startswith("/response/"):
                secret = parts.path.removeprefix("/response/").partition("/")[0]
                if not hmac.compare_digest(secret, self._response_secret):
                    return 404, b"no such response_url"
                self.sink.responded(str(params.get("text") or ""), _list(params.get("blocks")))
                return 200, b"ok"
            if not parts.path.startswith("/api/"):
                return 404, b"not found"
            method = parts.path.removeprefix("/api/")
            auth = headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip() or str(params.pop("token", ""))
            if token != self._token:
                return 200, _json({"ok": False, "error": "invalid_auth"})
            return 200, _json(self._call(method, params))

    def _call(self, method: str, params: JSON) -> JSON:
        answer: JSON
        if method == "auth.test":
            answer = {"ok": True, "team_id": TEAM, "user_id": BOT_USER, "bot_id": "BECRBOT"}
        elif method == "chat.postMessage":
            answer = self._post(params)
        elif method == "chat.update":
            answer = self._update(params)
        elif method == "chat.postEphemeral":
            self.sink.responded(str(params.get("text") or ""), _list(params.get("blocks")))
            answer = {"ok": True, "message_ts": self.next_ts()}
        elif method == "usergroups.users.list":
            answer = {"ok": True, "users": self._groups.get(str(params.get("usergroup")), [])}
        elif method == "users.info":
            user = str(params.get("user", ""))
            answer = {"ok": True, "user": {"id": user, "name": self._names.get(user, user)}}
        elif method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:10].upper()
            self._pending[file_id] = {"name": str(params.get("filename") or file_id)}
            url = f"{self.base_url}/upload/{file_id}"
            answer = {"ok": True, "file_id": file_id, "upload_url": url}
        elif method == "files.completeUploadExternal":
            answer = self._complete(params)
        else:
            answer = {"ok": False, "error": "unknown_method"}
        return answer

    def next_ts(self) -> str:
        n = next(self._ts)
        return f"{int(time.time())}.{n:06d}"

    def _post(self, params: JSON) -> JSON:
        channel = str(params.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = self.next_ts()
        message = Message(
            channel,
            ts,
            str(params.get("text") or ""),
            _list(params.get("blocks")),
            str(params["thread_ts"]) if params.get("thread_ts") else None,
            _dict(params.get("metadata")),
        )
        self._messages[(channel, ts)] = message
        self.sink.posted(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _update(self, params: JSON) -> JSON:
        key = (str(params.get("channel")), str(params.get("ts")))
        message = self._messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in params:
            message.text = str(params["text"] or "")
        if "blocks" in params:
            message.blocks = _list(params["blocks"])
        if "metadata" in params:
            message.metadata = _dict(params["metadata"])
        message.edits += 1
        self.sink.updated(message)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _upload(self, file_id: str, body: bytes) -> tuple[int, bytes]:
        if file_id not in self._pending:
            return 404, b"unknown upload"
        self._uploads[file_id] = body
        return 200, f"OK - {len(body)}".encode()

    def _complete(self, params: JSON) -> JSON:
        items = _list(params.get("files"))
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        done: list[File] = []
        self._files_dir.mkdir(parents=True, exist_ok=True)
        for item in items:
            file_id = str(item.get("id", ""))
            if file_id not in self._uploads:
                return {"ok": False, "error": "file_not_found"}
            name = Path(self._pending[file_id]["name"]).name
            path = self._files_dir / name
            path.write_bytes(self._uploads.pop(file_id))
            title = str(item.get("title") or name)
            done.append(File(name, title, path, path.stat().st_size, thread_ts))
        self.sink.uploaded(done)
        return {"ok": True, "files": [{"id": f.name, "name": f.name} for f in done]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        console: ConsoleSlack = self.server.console  # type: ignore[attr-defined]
        headers = {key: value for key, value in self.headers.items()}
        try:
            status, answer = console.handle(self.path, headers, body)
        except Exception as error:  # the bot sees a Slack error; the console goes on
            status, answer = 500, f"console Slack error: {type(error).__name__}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal belongs to the console."""


def _params(query: str, content_type: str, body: bytes) -> JSON:
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    if body and "json" in content_type:
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body and "multipart/" not in content_type:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _list(value: Any) -> list[JSON]:
    value = _decoded(value)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> JSON:
    value = _decoded(value)
    return value if isinstance(value, dict) else {}


def _json(data: JSON) -> bytes:
    return json.dumps(data).encode()
