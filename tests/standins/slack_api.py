"""Slack Web API and Socket Mode stand-in served on 127.0.0.1 for tests."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

JSON = dict[str, Any]
Handler = Callable[[JSON], JSON]

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "ecrbot-test"
APP_ID = "A0TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_TOKEN_PREFIX = "xoxb-"
APP_TOKEN_PREFIX = "xapp-"
RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "file_upload"
ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
# Arbitrary but realistic epoch, so ts values look like Slack's and sort as strings.
TS_EPOCH = 1790000000


@dataclass(frozen=True)
class Call:
    """One request the stand-in answered, faulted ones included."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    at: float
    response: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer the stand-in sends back."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    data: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class _Fault:
    """A queued injected failure."""

    status: int
    retry_after: int
    error: str | None


@dataclass
class _Bucket:
    """Token bucket refilled at `rate` per second up to `capacity`."""

    rate: float
    capacity: float
    retry_after: int
    tokens: float
    last: float

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _json_answer(
    data: JSON, status: int = 200, headers: Mapping[str, str] | None = None
) -> _Answer:
    """Encode a JSON answer."""
    return _Answer(status, json.dumps(data).encode(), headers=headers or {}, data=data)


def _fault_answer(fault: _Fault) -> _Answer:
    """Render an injected failure the way Slack's edge does."""
    if fault.status == HTTPStatus.TOO_MANY_REQUESTS:
        data = {"ok": False, "error": fault.error or "ratelimited"}
        return _json_answer(data, fault.status, {"Retry-After": str(fault.retry_after)})
    if fault.status >= 500 and fault.error is None:
        text = f"{fault.status} Server Error (injected by SlackStandIn)\n"
        return _Answer(fault.status, text.encode(), "text/plain; charset=utf-8")
    return _json_answer({"ok": False, "error": fault.error or f"http_{fault.status}"}, fault.status)


def _maybe_json(value: Any) -> Any:
    """Decode JSON-in-a-string fields such as blocks, attachments, view or files."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_params(query: str, content_type: str, body: bytes) -> JSON | None:
    """Merge query string and body parameters; None when the body is not parseable."""
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        if "json" in content_type:
            try:
                decoded = json.loads(body)
            except ValueError:
                return None
            if not isinstance(decoded, dict):
                return None
            params.update(decoded)
        elif "multipart/" not in content_type:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: _maybe_json(value) for key, value in params.items()}


def _bearer(header: str | None) -> str | None:
    """Extract the token from an Authorization header."""
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


class _HTTPServer(ThreadingHTTPServer):
    """HTTP server that knows its stand-in."""

    daemon_threads = True

    def __init__(self, standin: SlackStandIn) -> None:
        self.standin = standin
        super().__init__(("127.0.0.1", 0), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Hands every request to the stand-in."""

    server: _HTTPServer

    def do_GET(self) -> None:
        """Slack accepts GET with query parameters too."""
        self._serve()

    def do_POST(self) -> None:
        """Answer a Web API, response_url or upload POST."""
        self._serve()

    def _serve(self) -> None:
        """Read the request, dispatch it and write the answer."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.standin.dispatch(self.path, self.headers, body)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class SlackStandIn:
    """Slack Web API + Socket Mode server on localhost, recording every call."""

    def __init__(self) -> None:
        self.usergroups: dict[str, list[str]] = {}
        self.channel_names: dict[str, str] = {"C0PLATFORM": "platform"}
        self.user_names: dict[str, str] = {"U0ALICE": "alice", BOT_USER_ID: "ecrbot"}
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], JSON] = {}
        self._pending_uploads: dict[str, JSON] = {}
        self._uploads: dict[str, bytes] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._outage: int | None = None
        self._extra: dict[str, Handler] = {}
        self._ts = itertools.count(1)
        self._tickets: set[str] = set()
        self._ws_clients: list[ServerConnection] = []
        self._acks: dict[str, JSON] = {}
        self._http: _HTTPServer | None = None
        self._ws: Server | None = None
        self._threads: list[threading.Thread] = []
        self._handlers: dict[str, Callable[[JSON, str | None], JSON]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "views.open": self._views,
            "views.publish": self._views,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start the HTTP and WebSocket servers on free ports."""
        if self._http is not None:
            return self
        self._http = _HTTPServer(self)
        # The builtin Socket Mode client never negotiates extensions, and with
        # ping_pong_trace_enabled it fails to decode binary ping payloads (websockets'
        # keepalive pings are 4 random bytes), drops the pong and the rest of that read, so
        # the server sends no pings of its own; it still answers the client's pings.
        self._ws = serve(
            self._ws_session,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,
            close_timeout=1,
        )
        http_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="slack-standin-http",
        )
        ws_thread = threading.Thread(
            target=self._ws.serve_forever, daemon=True, name="slack-standin-ws"
        )
        self._threads = [http_thread, ws_thread]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Close Socket Mode connections, stop both servers and join their threads."""
        if self._ws is not None:
            self._ws.shutdown()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._http, self._ws, self._threads = None, None, []

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Root URL of the HTTP server, without trailing slash."""
        if self._http is None:
            raise RuntimeError("SlackStandIn is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Web API base URL, i.e. slack_sdk's base_url (trailing slash)."""
        return f"{self.base_url}/api/"

    @property
    def ws_url(self) -> str:
        """Root URL of the Socket Mode WebSocket server."""
        if self._ws is None:
            raise RuntimeError("SlackStandIn is not started")
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}"

    def response_url(self, name: str) -> str:
        """A response_url on the stand-in; POSTs to it are recorded as `response_url` calls."""
        return f"{self.base_url}/response/{name}"

    # -- configuration and fault injection --------------------------------------------------

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        """Define the members usergroups.users.list answers for a group."""
        with self._cond:
            self.usergroups[group_id] = list(users)

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer `method` with handler(params) (adds or overrides a method)."""
        with self._cond:
            self._extra[method] = handler

    def fail_next(
        self,
        method: str,
        status: int = 429,
        times: int = 1,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (and `error`, if given)."""
        with self._cond:
            queue = self._faults.setdefault(method, deque())
            queue.extend(_Fault(status, retry_after, error) for _ in range(times))

    def rate_limit(
        self, method: str, per_second: float, retry_after: int = 1, burst: float | None = None
    ) -> None:
        """Answer 429 when `method` is called faster than `per_second` (token bucket)."""
        capacity = burst if burst is not None else max(1.0, per_second)
        with self._cond:
            self._buckets[method] = _Bucket(
                per_second, capacity, retry_after, capacity, time.monotonic()
            )

    def outage(self, status: int = 503) -> None:
        """Make every request fail with `status` until end_outage()."""
        with self._cond:
            self._outage = status

    def end_outage(self) -> None:
        """End an outage()."""
        with self._cond:
            self._outage = None

    def clear_faults(self) -> None:
        """Drop queued failures, rate limits and any outage."""
        with self._cond:
            self._faults.clear()
            self._buckets.clear()
            self._outage = None

    # -- recorded traffic ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only those of one method."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def count(self, method: str | None = None, status: int | None = None) -> int:
        """Number of recorded calls matching method and HTTP status."""
        return sum(1 for c in self.calls(method) if status is None or c.status == status)

    def clear(self) -> None:
        """Forget recorded calls, uploads and acks (configuration and faults stay)."""
        with self._cond:
            self._calls.clear()
            self._uploads.clear()
            self._acks.clear()

    def wait_for(self, predicate: Callable[[Call], bool] | str, timeout: float = 10.0) -> Call:
        """Block until a recorded call satisfies predicate (or has that method name)."""
        match = (lambda c: c.method == predicate) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if match(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{c.method}:{c.status}" for c in self._calls]
                    raise AssertionError(f"no matching Slack call within {timeout}s; saw {seen}")
                self._cond.wait(remaining)

    def messages(self, channel: str | None = None) -> list[JSON]:
        """Current state of posted messages (after chat.update), oldest first."""
        with self._cond:
            return [dict(m) for (ch, _), m in self._messages.items() if channel in (None, ch)]

    def uploads(self) -> dict[str, bytes]:
        """Bytes uploaded to upload URLs, by file id."""
        with self._cond:
            return dict(self._uploads)

    # -- HTTP dispatch ---------------------------------------------------------------------

    def dispatch(self, path: str, headers: Message, body: bytes) -> _Answer:
        """Route one HTTP request (called from the server threads)."""
        parts = urlsplit(path)
        content_type = headers.get("Content-Type") or ""
        if parts.path.startswith("/upload/"):
            file_id = parts.path.removeprefix("/upload/")
            return self._answer(UPLOAD_METHOD, {"file_id": file_id, "content": body}, None)
        params = _parse_params(parts.query, content_type, body)
        if parts.path.startswith("/response/"):
            name = parts.path.removeprefix("/response/")
            return self._answer(RESPONSE_URL_METHOD, {**(params or {}), "name": name}, None)
        if parts.path.startswith("/api/"):
            method = parts.path.removeprefix("/api/")
            if params is None:
                return self._answer(method, {}, None, invalid_json=True)
            token = _bearer(headers.get("Authorization")) or params.pop("token", None)
            return self._answer(method, params, token)
        return _Answer(404, b"not found\n", "text/plain; charset=utf-8")

    def _answer(
        self, method: str, params: JSON, token: str | None, invalid_json: bool = False
    ) -> _Answer:
        """Answer (or fault) one call and record it."""
        with self._cond:
            fault = self._take_fault(method)
            if fault is not None:
                answer = _fault_answer(fault)
            elif invalid_json:
                answer = _json_answer({"ok": False, "error": "invalid_json"})
            else:
                answer = self._respond(method, params, token)
            self._calls.append(
                Call(method, params, token, answer.status, time.monotonic(), answer.data)
            )
            self._cond.notify_all()
            return answer

    def _take_fault(self, method: str) -> _Fault | None:
        """The failure to inject for this call, if any (caller holds the lock)."""
        if self._outage is not None:
            return _Fault(self._outage, 1, None)
        queue = self._faults.get(method)
        if queue:
            return queue.popleft()
        bucket = self._buckets.get(method)
        if bucket is not None and not bucket.take(time.monotonic()):
            return _Fault(HTTPStatus.TOO_MANY_REQUESTS, bucket.retry_after, None)
        return None

    def _respond(self, method: str, params: JSON, token: str | None) -> _Answer:
        """Answer a call that is not faulted (caller holds the lock)."""
        if method == RESPONSE_URL_METHOD:
            return _json_answer({"ok": True})
        if method == UPLOAD_METHOD:
            return self._upload(params)
        handler = self._handlers.get(method)
        if handler is None and method not in self._extra:
            return _json_answer({"ok": False, "error": "unknown_method"})
        if not token or not token.startswith((BOT_TOKEN_PREFIX, APP_TOKEN_PREFIX)):
            return _json_answer({"ok": False, "error": "invalid_auth"})
        wants_app_token = method == "apps.connections.open"
        if token.startswith(APP_TOKEN_PREFIX) != wants_app_token:
            return _json_answer({"ok": False, "error": "not_allowed_token_type"})
        if method in self._extra:
            return _json_answer(self._extra[method](params))
        assert handler is not None
        return _json_answer(handler(params, token))

    # -- Web API methods (called with the lock held) ---------------------------------------

    def _next_ts(self) -> str:
        """A unique, increasing message ts like 1790000000.000100."""
        n = next(self._ts)
        return f"{TS_EPOCH + n // 10000}.{n % 10000 * 100:06d}"

    def _auth_test(self, params: JSON, token: str | None) -> JSON:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "ecrbot test",
            "user": "ecrbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: JSON, token: str | None) -> JSON:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"ok": True, "url": f"{self.ws_url}/link/?ticket={ticket}&app_id={APP_ID}"}

    def _chat_post_message(self, params: JSON, token: str | None) -> JSON:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message: JSON = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key):
                message[key] = params[key]
        # A copy, so a later chat.update does not rewrite this call's recorded answer.
        self._messages[(channel, ts)] = dict(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: JSON, token: str | None) -> JSON:
        channel, ts = params.get("channel"), params.get("ts")
        message = self._messages.get((str(channel), str(ts)))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, params: JSON, token: str | None) -> JSON:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, params: JSON, token: str | None) -> JSON:
        channel, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_info(self, params: JSON, token: str | None) -> JSON:
        channel = str(params.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        name = self.channel_names.get(channel, channel.lower())
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": name,
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
            },
        }

    def _users_info(self, params: JSON, token: str | None) -> JSON:
        user = str(params.get("user", ""))
        if not user.startswith(("U", "W")):
            return {"ok": False, "error": "user_not_found"}
        name = self.user_names.get(user, user.lower())
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name.title(),
                "deleted": False,
                "is_bot": user == BOT_USER_ID,
                "tz": "UTC",
                "profile": {"real_name": name.title(), "display_name": name},
            },
        }

    def _usergroups_users_list(self, params: JSON, token: str | None) -> JSON:
        users = self.usergroups.get(str(params.get("usergroup", "")))
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}

    def _files_get_upload_url(self, params: JSON, token: str | None) -> JSON:
        if not params.get("filename") or not params.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F0" + uuid.uuid4().hex[:9].upper()
        self._pending_uploads[file_id] = {"name": params["filename"], "length": params["length"]}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _upload(self, params: JSON) -> _Answer:
        file_id = str(params["file_id"])
        if file_id not in self._pending_uploads:
            return _Answer(404, b"unknown upload\n", "text/plain; charset=utf-8")
        content: bytes = params["content"]
        self._uploads[file_id] = content
        return _Answer(200, f"OK - {len(content)}".encode(), "text/plain; charset=utf-8")

    def _files_complete_upload(self, params: JSON, token: str | None) -> JSON:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id")
        done: list[JSON] = []
        for item in files:
            file_id = str(item.get("id", ""))
            if file_id not in self._uploads:
                return {"ok": False, "error": "file_not_found"}
            name = self._pending_uploads[file_id]["name"]
            done.append(
                {
                    "id": file_id,
                    "name": name,
                    "title": item.get("title") or name,
                    "size": len(self._uploads[file_id]),
                    "channels": [channel] if channel else [],
                    "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{file_id}",
                }
            )
        return {"ok": True, "files": done}

    def _views(self, params: JSON, token: str | None) -> JSON:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {"id": "V0" + uuid.uuid4().hex[:9].upper(), **view}}

    # -- Socket Mode -----------------------------------------------------------------------

    def _check_ticket(self, conn: ServerConnection, request: Request) -> Response | None:
        """Refuse WebSocket handshakes whose ticket apps.connections.open did not issue."""
        ticket = dict(parse_qsl(urlsplit(request.path).query)).get("ticket", "")
        with self._cond:
            known = ticket in self._tickets
        return None if known else conn.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    def _ws_session(self, conn: ServerConnection) -> None:
        """Greet a Socket Mode client like Slack does, then collect its acks."""
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-standin",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }
        with self._cond:
            self._ws_clients.append(conn)
            self._cond.notify_all()
        try:
            conn.send(json.dumps(hello))
            for raw in conn:
                self._record_ack(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._ws_clients.remove(conn)
                self._cond.notify_all()

    def _record_ack(self, raw: str | bytes) -> None:
        """Keep an envelope ack sent by a client."""
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and "envelope_id" in message:
            with self._cond:
                self._acks[str(message["envelope_id"])] = message
                self._cond.notify_all()

    def socket_client_count(self) -> int:
        """Number of open Socket Mode connections."""
        with self._cond:
            return len(self._ws_clients)

    def wait_for_socket_client(self, timeout: float = 10.0) -> None:
        """Block until at least one Socket Mode client is connected."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._ws_clients), timeout):
                raise AssertionError(f"no Socket Mode client connected within {timeout}s")

    def _newest_client(self) -> ServerConnection:
        """The connection Slack would deliver to (the newest one)."""
        with self._cond:
            if not self._ws_clients:
                raise AssertionError("no Socket Mode client is connected")
            return self._ws_clients[-1]

    def send_envelope(
        self,
        type_: str,
        payload: JSON,
        accepts_response_payload: bool = True,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Deliver one envelope to the newest Socket Mode connection; returns its id."""
        if type_ not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type_!r}, expected {sorted(ENVELOPE_TYPES)}")
        envelope_id = str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api" or retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        self._newest_client().send(json.dumps(envelope))
        return envelope_id

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the newest client to reconnect, as Slack does before rotating hosts."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-0"}}
        self._newest_client().send(json.dumps(message))

    def close_socket_clients(self) -> None:
        """Close every Socket Mode connection from the server side."""
        with self._cond:
            clients = list(self._ws_clients)
        for conn in clients:
            conn.close()

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> JSON:
        """Block until a client acked envelope_id; returns the ack message."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self._acks, timeout):
                raise AssertionError(
                    f"no ack for envelope {envelope_id} within {timeout}s; "
                    f"acked: {sorted(self._acks)}"
                )
            return dict(self._acks[envelope_id])

    def acks(self) -> list[JSON]:
        """All acks received, in arrival order."""
        with self._cond:
            return [dict(a) for a in self._acks.values()]
