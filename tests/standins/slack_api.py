"""Slack Web API and Socket Mode stand-in served on 127.0.0.1 for tests.

It is as strict as Slack is with a bot token about scopes and channels:

- a method whose scope the app lacks answers ``missing_scope`` (the granted scopes are the
  shipped ``manifest.yml``'s unless the test passes others; the method -> scope table is
  ``tests/data/slack/method_scopes.json``);
- channels live in a registry (``add_channel``): an unknown channel, a private channel or a DM the
  bot is not in is ``channel_not_found``; a public channel the bot is not in takes
  ``chat.postMessage`` only with ``chat:write.public``; an archived one refuses posts;
- message limits Slack enforces (blocks, section text, text length) are checked, and `table` and
  `data_visualization` blocks against their documented shape and limits;
- conversations.replies and conversations.history follow the app's tier (`set_read_tier`):
  internal (Tier 3) or distributed outside the Marketplace (1 a minute, at most 15 messages);
- views.open takes a modal and a trigger_id (or interactivity_pointer) once; views.publish takes
  a home view for a user_id, and only when the manifest enables the Home tab.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
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

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
METHOD_SCOPES_PATH = REPO_ROOT / "tests/data/slack/method_scopes.json"
DEFAULT_CHANNEL = "C0PLATFORM"
# The conversation families of the conversations.* scopes: public, private, DM, group DM.
CONVERSATION_FAMILIES = ("channels", "groups", "im", "mpim")
PUBLIC_WRITE_SCOPE = "chat:write.public"
# Message limits (https://docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in each
# message"; a section's text is at most 3000 characters, its fields at most 10 of 2000 each).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
# chat.postMessage documents truncation above 40,000 characters and lists msg_too_long; Slack
# has been seen answering msg_too_long well below that (about 4,000), so this is lenient.
MAX_TEXT = 40000
# The table block (https://docs.slack.dev/reference/block-kit/blocks/table-block, read
# 2026-07-20): rows at most 100, each at most 20 cells of raw_text or rich_text (raw_number too,
# as slack_sdk 3.48 models it), column_settings at most 20 of align/is_wrapped. One table per
# message: a second answers invalid_attachments/only_one_table_allowed (as SDKs and integrations
# report it; the stored copy of Slack's usage note was cut off).
TABLE_KEYS = frozenset({"type", "block_id", "rows", "column_settings"})
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
TABLE_CELL_TYPES = frozenset({"raw_text", "rich_text", "raw_number"})
COLUMN_SETTING_KEYS = frozenset({"align", "is_wrapped"})
ALIGNS = frozenset({"left", "center", "right"})
# The data visualization block
# (https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block, read 2026-07-20):
# title 1-50 characters; chart pie (1-6 segments: label <= 20, value > 0) or bar/area/line (1-6
# series, axis_config). Series and axis fields past where the stored page stops follow the
# slack-messaging crate, which mirrors the page: series {name <= 20, data 1-20 of label/value},
# axis_config {categories <= 20 characters each, x_label/y_label <= 50}.
# conversations.replies and conversations.history by the app's tier
# (https://docs.slack.dev/reference/methods/conversations.replies and
# https://docs.slack.dev/apis/web-api/rate-limits, read 2026-07-20): internal and Marketplace apps
# keep Tier 3 (50+ a minute); an app commercially distributed outside the Marketplace gets 1
# request a minute, and `limit` at most (and by default) 15: more messages are not returned.
READ_METHODS = ("conversations.replies", "conversations.history")
INTERNAL = "internal"
DISTRIBUTED = "distributed"
READ_TIERS = {  # tier -> (requests a minute, default limit, maximum limit)
    INTERNAL: (50, 1000, 1000),
    DISTRIBUTED: (1, 15, 15),
}
CHART_KINDS = frozenset({"pie", "bar", "area", "line"})
MAX_CHART_TITLE = 50
MAX_CHART_LABEL = 20
MAX_AXIS_LABEL = 50
MAX_SERIES = 6
MAX_POINTS = 20


@functools.cache
def load_method_scopes(path: Path = METHOD_SCOPES_PATH) -> dict[str, tuple[str, ...]]:
    """Web API method -> acceptable bot scopes ("_"-prefixed keys are notes, not methods)."""
    data: dict[str, Any] = json.loads(path.read_text())
    return {name: tuple(scopes) for name, scopes in data.items() if not name.startswith("_")}


@functools.cache
def manifest_bot_scopes(path: Path = MANIFEST_PATH) -> tuple[str, ...]:
    """The bot scopes the shipped Slack app manifest grants, in manifest order."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return tuple(str(scope) for scope in data["oauth_config"]["scopes"]["bot"])


@functools.cache
def manifest_home_tab_enabled(path: Path = MANIFEST_PATH) -> bool:
    """Whether the shipped manifest enables the App Home tab (views.publish of a home view)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return bool((data.get("features") or {}).get("app_home", {}).get("home_tab_enabled", False))


@dataclass
class Channel:
    """One conversation as the bot sees it."""

    id: str
    name: str
    private: bool = False
    im_user: str | None = None
    member: bool = True
    archived: bool = False

    @property
    def is_im(self) -> bool:
        return self.id.startswith("D")

    @property
    def family(self) -> str:
        """The scope family of this conversation type: channels, groups or im."""
        if self.is_im:
            return "im"
        return "groups" if self.private else "channels"

    @property
    def bot_in(self) -> bool:
        """Whether the bot is in it: a member of a channel, or this is its own DM."""
        return self.im_user is not None if self.is_im else self.member


def _error(code: str, **extra: Any) -> JSON:
    """A Slack error body."""
    return {"ok": False, "error": code, **extra}


def _invalid_arguments(problem: str) -> JSON:
    """Slack's answer to a missing or malformed argument, with its `[ERROR]` detail."""
    return _error("invalid_arguments", response_metadata={"messages": [f"[ERROR] {problem}"]})


def _content_error(params: JSON) -> JSON | None:
    """msg_too_long / invalid_blocks for message content Slack refuses, else None."""
    text = params.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return _error("msg_too_long")
    blocks = params.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return _error("invalid_blocks_format")
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"must be less than {MAX_BLOCKS + 1} items [json-pointer:/blocks]")
    tables = [i for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == "table"]
    if len(tables) > 1:
        return _error(
            "invalid_attachments",
            response_metadata={"messages": ["[ERROR] only_one_table_allowed"]},
        )
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not block.get("type"):
            problems.append(f"missing required field: type [json-pointer:/blocks/{i}]")
            continue
        if block["type"] == "table":
            problems += _table_problems(i, block)
            continue
        if block["type"] == "data_visualization":
            problems += _chart_problems(i, block)
            continue
        if block["type"] != "section":
            continue
        text_obj = block.get("text")
        if isinstance(text_obj, dict) and len(str(text_obj.get("text", ""))) > MAX_SECTION_TEXT:
            problems.append(
                f"must be less than {MAX_SECTION_TEXT + 1} characters "
                f"[json-pointer:/blocks/{i}/text/text]"
            )
        fields = block.get("fields")
        if isinstance(fields, list):
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(
                    f"must be less than {MAX_SECTION_FIELDS + 1} items "
                    f"[json-pointer:/blocks/{i}/fields]"
                )
            for j, item in enumerate(fields):
                if isinstance(item, dict) and len(str(item.get("text", ""))) > MAX_FIELD_TEXT:
                    problems.append(
                        f"must be less than {MAX_FIELD_TEXT + 1} characters "
                        f"[json-pointer:/blocks/{i}/fields/{j}/text]"
                    )
    if problems:
        return _error(
            "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )
    return None


def _table_problems(i: int, block: JSON) -> list[str]:
    """What Slack refuses in a table block (its documented shape and limits)."""
    at = f"/blocks/{i}"
    unknown = set(block) - TABLE_KEYS
    if unknown:
        return [f"unknown field(s) {sorted(unknown)} [json-pointer:{at}]"]
    rows = block.get("rows")
    if not isinstance(rows, list) or not rows:
        return [f"missing required field: rows [json-pointer:{at}/rows]"]
    problems: list[str] = []
    if len(rows) > MAX_TABLE_ROWS:
        problems.append(f"must be less than {MAX_TABLE_ROWS + 1} items [json-pointer:{at}/rows]")
    for r, row in enumerate(rows):
        if not isinstance(row, list) or not row:
            problems.append(f"a row is an array of cells [json-pointer:{at}/rows/{r}]")
            continue
        if len(row) > MAX_TABLE_CELLS:
            problems.append(
                f"must be less than {MAX_TABLE_CELLS + 1} items [json-pointer:{at}/rows/{r}]"
            )
        for c, cell in enumerate(row):
            where = f"[json-pointer:{at}/rows/{r}/{c}]"
            kind = cell.get("type") if isinstance(cell, dict) else None
            if kind not in TABLE_CELL_TYPES:
                problems.append(f"cell type must be one of {sorted(TABLE_CELL_TYPES)} {where}")
            elif kind == "raw_text" and (
                set(cell) != {"type", "text"}
                or not isinstance(cell["text"], str)
                or not cell["text"]
            ):
                problems.append(f"raw_text has type and a non-empty text only {where}")
            elif kind == "rich_text" and not isinstance(cell.get("elements"), list):
                problems.append(f"missing required field: elements {where}")
    settings = block.get("column_settings")
    if settings is not None:
        if not isinstance(settings, list) or len(settings) > MAX_TABLE_CELLS:
            problems.append(f"at most {MAX_TABLE_CELLS} items [json-pointer:{at}/column_settings]")
        else:
            for c, setting in enumerate(settings):
                if setting is None:
                    continue
                ok = isinstance(setting, dict) and set(setting) <= COLUMN_SETTING_KEYS
                ok = ok and setting.get("align", "left") in ALIGNS
                ok = ok and isinstance(setting.get("is_wrapped", False), bool)
                if not ok:
                    problems.append(
                        f"column settings are align and is_wrapped "
                        f"[json-pointer:{at}/column_settings/{c}]"
                    )
    return problems


def _label(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= limit


def _chart_problems(i: int, block: JSON) -> list[str]:
    """What Slack refuses in a data_visualization block (its documented shape and limits)."""
    at = f"[json-pointer:/blocks/{i}]"
    if set(block) - {"type", "block_id", "title", "chart"}:
        return [
            f"unknown field(s) {sorted(set(block) - {'type', 'block_id', 'title', 'chart'})} {at}"
        ]
    if not _label(block.get("title"), MAX_CHART_TITLE):
        return [f"title must be 1 to {MAX_CHART_TITLE} characters {at}"]
    chart = block.get("chart")
    if not isinstance(chart, dict) or chart.get("type") not in CHART_KINDS:
        return [f"chart type must be one of {sorted(CHART_KINDS)} {at}"]
    if chart["type"] == "pie":
        segments = chart.get("segments")
        if set(chart) != {"type", "segments"} or not isinstance(segments, list):
            return [f"a pie chart has type and segments only {at}"]
        if not 1 <= len(segments) <= MAX_SERIES:
            return [f"a pie chart has 1 to {MAX_SERIES} segments {at}"]
        for seg in segments:
            if not isinstance(seg, dict) or set(seg) != {"label", "value"}:
                return [f"a segment has label and value only {at}"]
            value = seg["value"]
            if not _label(seg["label"], MAX_CHART_LABEL) or not isinstance(value, int | float):
                return [f"a segment is a label of 1 to {MAX_CHART_LABEL} and a number {at}"]
            if isinstance(value, bool) or value <= 0:
                return [f"a segment's value must be greater than 0 {at}"]
        return []
    if set(chart) != {"type", "series", "axis_config"}:
        return [f"a {chart['type']} chart has type, series and axis_config only {at}"]
    axis, series = chart["axis_config"], chart["series"]
    if not isinstance(axis, dict) or set(axis) - {"categories", "x_label", "y_label"}:
        return [f"axis_config has categories, x_label and y_label only {at}"]
    categories = axis.get("categories")
    if not isinstance(categories, list) or not categories or len(categories) > MAX_POINTS:
        return [f"axis_config.categories holds 1 to {MAX_POINTS} labels {at}"]
    if not all(_label(c, MAX_CHART_LABEL) for c in categories):
        return [f"a category is 1 to {MAX_CHART_LABEL} characters {at}"]
    if any(k in axis and not _label(axis[k], MAX_AXIS_LABEL) for k in ("x_label", "y_label")):
        return [f"axis labels are 1 to {MAX_AXIS_LABEL} characters {at}"]
    if not isinstance(series, list) or not 1 <= len(series) <= MAX_SERIES:
        return [f"a chart has 1 to {MAX_SERIES} series {at}"]
    names = [s.get("name") for s in series if isinstance(s, dict)]
    if len(names) != len(series) or len(set(names)) != len(names):
        return [f"series have unique names {at}"]
    for one in series:
        data = one.get("data")
        if set(one) != {"name", "data"} or not _label(one["name"], MAX_CHART_LABEL):
            return [f"a series is a name of 1 to {MAX_CHART_LABEL} and data {at}"]
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_POINTS:
            return [f"a series has 1 to {MAX_POINTS} points {at}"]
        for point in data:
            ok = isinstance(point, dict) and set(point) == {"label", "value"}
            ok = ok and point["label"] in categories
            ok = (
                ok
                and isinstance(point["value"], int | float)
                and not isinstance(point["value"], bool)
            )
            if not ok:
                return [f"a point is a category label and a number {at}"]
    return []


def _has_content(params: JSON) -> bool:
    return any(params.get(k) for k in ("text", "blocks", "attachments"))


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

    def __init__(self, scopes: Iterable[str] | None = None, home_tab: bool | None = None) -> None:
        # The bot scopes the app was granted: the shipped manifest's unless a test says otherwise.
        self.scopes: tuple[str, ...] = (
            manifest_bot_scopes() if scopes is None else tuple(dict.fromkeys(scopes))
        )
        # Whether the app's Home tab is on (views.publish answers not_enabled otherwise).
        self.home_tab = manifest_home_tab_enabled() if home_tab is None else home_tab
        self._exchanged_triggers: set[str] = set()
        self.method_scopes = load_method_scopes()
        self.usergroups: dict[str, list[str]] = {}
        self.channel_names: dict[str, str] = {DEFAULT_CHANNEL: "platform"}
        self.user_names: dict[str, str] = {"U0ALICE": "alice", BOT_USER_ID: "ecrbot"}
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._channels: dict[str, Channel] = {}
        self._messages: dict[tuple[str, str], JSON] = {}
        # Replies whose thread_ts is no message of their channel: Slack accepts them but they
        # show up nowhere (see _chat_post_message).
        self._orphans: dict[tuple[str, str], JSON] = {}
        self._pending_uploads: dict[str, JSON] = {}
        self._uploads: dict[str, bytes] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self.read_tier = INTERNAL
        self._read_buckets: dict[str, _Bucket] = {}
        self._outage: int | None = None
        self._stall_s = 0.0
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
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
        }
        self.add_channel(DEFAULT_CHANNEL, name="platform")

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

    def add_channel(
        self,
        channel_id: str,
        *,
        private: bool = False,
        im_user: str | None = None,
        member: bool = True,
        archived: bool = False,
        name: str | None = None,
    ) -> None:
        """Register (or replace) a conversation.

        Ids starting with G are private, ids starting with D are DMs: a DM is the bot's own DM
        with `im_user` when that is set, and someone else's (invisible to the bot) otherwise.
        """
        if im_user is not None and not channel_id.startswith("D"):
            raise ValueError(f"im_user is for DM ids (D...), not {channel_id!r}")
        with self._cond:
            label = name or self.channel_names.get(channel_id) or channel_id.lower()
            self.channel_names[channel_id] = label
            self._channels[channel_id] = Channel(
                channel_id,
                label,
                private=private or channel_id.startswith("G"),
                im_user=im_user,
                member=member,
                archived=archived,
            )

    def channel(self, channel_id: str) -> Channel | None:
        """The registered conversation, if any."""
        with self._cond:
            return self._channels.get(channel_id)

    def add_message(
        self, channel: str, text: str, *, user: str = "U0ALICE", thread_ts: str | None = None
    ) -> str:
        """Seed a message someone else posted (no checks); returns its ts."""
        with self._cond:
            ts = self._next_ts()
            message: JSON = {"type": "message", "user": user, "team": TEAM_ID, "text": text}
            message["ts"] = ts
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._messages[(channel, ts)] = message
            return ts

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        """Define the members usergroups.users.list answers for a group."""
        with self._cond:
            self.usergroups[group_id] = list(users)

    def methods(self) -> list[str]:
        """The Web API methods the stand-in answers, set_handler() ones included."""
        with self._cond:
            return sorted(set(self._handlers) | set(self._extra))

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer `method` with handler(params) (adds or overrides a method).

        Token and scope checks still come first, as for every Web API method.
        """
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

    def set_read_tier(self, tier: str) -> None:
        """Model the app as `internal` (Tier 3 reads) or `distributed` outside the Marketplace
        (1 read a minute per method, at most 15 messages); the minute starts afresh."""
        if tier not in READ_TIERS:
            raise ValueError(f"unknown tier {tier!r}: {sorted(READ_TIERS)}")
        with self._cond:
            self.read_tier = tier
            self._read_buckets.clear()

    def _read_refused(self, method: str, now: float) -> _Fault | None:
        """The tier's 429 for a read over its rate (caller holds the lock), with the seconds
        until the next read is allowed as Retry-After."""
        if method not in READ_METHODS:
            return None
        per_minute = READ_TIERS[self.read_tier][0]
        bucket = self._read_buckets.get(method)
        if bucket is None:
            bucket = _Bucket(per_minute / 60.0, float(per_minute), 60, float(per_minute), now)
            self._read_buckets[method] = bucket
        if bucket.take(now):
            return None
        wait = (1.0 - bucket.tokens) / bucket.rate
        return _Fault(HTTPStatus.TOO_MANY_REQUESTS, max(1, math.ceil(wait)), None)

    def _read_limit(self, params: JSON) -> int | None:
        """The number of messages a read returns: the asked `limit` within the tier's
        maximum (None: an invalid limit)."""
        _, default, most = READ_TIERS[self.read_tier]
        try:
            asked = int(params.get("limit") or default)
        except (TypeError, ValueError):
            return None
        return max(1, min(asked, most))

    def outage(self, status: int = 503) -> None:
        """Make every request fail with `status` until end_outage()."""
        with self._cond:
            self._outage = status

    def stall(self, seconds: float) -> None:
        """Hold every answer `seconds` before sending it (a client with a shorter timeout sees
        a timeout), until end_stall()."""
        with self._cond:
            self._stall_s = seconds

    def end_stall(self) -> None:
        with self._cond:
            self._stall_s = 0.0

    def end_outage(self) -> None:
        """End an outage()."""
        with self._cond:
            self._outage = None

    def clear_faults(self) -> None:
        """Drop queued failures, rate limits and any outage."""
        with self._cond:
            self._faults.clear()
            self._buckets.clear()
            self._read_buckets.clear()
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

    def orphaned_replies(self, channel: str | None = None) -> list[JSON]:
        """Replies Slack accepted with a thread_ts that is no message of the channel.

        Slack shows them nowhere, so messages() leaves them out.
        """
        with self._cond:
            return [dict(m) for (ch, _), m in self._orphans.items() if channel in (None, ch)]

    def uploads(self) -> dict[str, bytes]:
        """Bytes uploaded to upload URLs, by file id."""
        with self._cond:
            return dict(self._uploads)

    # -- HTTP dispatch ---------------------------------------------------------------------

    def dispatch(self, path: str, headers: Message, body: bytes) -> _Answer:
        """Route one HTTP request (called from the server threads)."""
        with self._cond:
            stall = self._stall_s
        if stall:
            time.sleep(stall)
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
        return self._read_refused(method, time.monotonic())

    def _respond(self, method: str, params: JSON, token: str | None) -> _Answer:
        """Answer a call that is not faulted (caller holds the lock)."""
        if method == RESPONSE_URL_METHOD:
            return _json_answer(self._response(params))
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
        if not wants_app_token:
            needed = self._needed_scope(method, params)
            if needed is not None:
                # HTTP 200 with needed/provided, exactly as Slack answers.
                provided = ",".join(self.scopes)
                return _json_answer(_error("missing_scope", needed=needed, provided=provided))
        if method in self._extra:
            return _json_answer(self._extra[method](params))
        assert handler is not None
        return _json_answer(handler(params, token))

    # -- scopes and channels (called with the lock held) -----------------------------------

    def _family_of(self, channel_id: str) -> str:
        """channels / groups / im for a conversation id, registered or not."""
        registered = self._channels.get(channel_id)
        if registered is not None:
            return registered.family
        if channel_id.startswith("D"):
            return "im"
        return "groups" if channel_id.startswith("G") else "channels"

    def _needed_scope(self, method: str, params: JSON) -> str | None:
        """The scope this call lacks, or None when the granted scopes allow it."""
        acceptable = self.method_scopes.get(method, ())
        if not acceptable:
            return None
        families = {scope.split(":", 1)[0] for scope in acceptable}
        if len(acceptable) > 1 and families <= set(CONVERSATION_FAMILIES):
            # conversations.*: Slack wants the scope of the conversation's type.
            family = self._family_of(str(params.get("channel", "")))
            for scope in acceptable:
                if scope.startswith(family + ":"):
                    return None if scope in self.scopes else scope
        if any(scope in self.scopes for scope in acceptable):
            return None
        return acceptable[0]

    def _visible(self, channel_id: str) -> tuple[Channel | None, JSON | None]:
        """The conversation if the bot can see it, else Slack's channel_not_found.

        Slack answers channel_not_found (not a permission error) for ids that do not exist,
        for private channels the bot was not invited to, and for DMs that are not its own.
        """
        channel = self._channels.get(channel_id)
        if channel is None or (channel.is_im and channel.im_user is None):
            return None, _error("channel_not_found")
        if channel.private and not channel.member:
            return None, _error("channel_not_found")
        return channel, None

    def _open_im(self, user: str) -> str:
        """The bot's DM with a user, opened on first use (chat.postMessage to a user id)."""
        for channel in self._channels.values():
            if channel.im_user == user:
                return channel.id
        channel_id = "D" + user[1:]
        self.add_channel(channel_id, im_user=user, name=channel_id.lower())
        return channel_id

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

    def _conversations_open(self, params: JSON, token: str | None) -> JSON:
        """The bot's DM with one person (users=<id>); group DMs are not what ecrbot opens."""
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users and not params.get("channel"):
            return _error("users_list_not_supplied")
        if len(users) != 1 or not users[0].startswith(("U", "W")):
            return _error("user_not_found")
        return {"ok": True, "channel": {"id": self._open_im(users[0])}}

    def _chat_post_message(self, params: JSON, token: str | None) -> JSON:
        channel_id = str(params.get("channel") or "")
        if channel_id.startswith(("U", "W")):
            # Posting to a user id posts in the bot's DM with that user.
            channel_id = self._open_im(channel_id)
        channel, refused = self._visible(channel_id)
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if channel.archived:
            return _error("is_archived")
        if not channel.bot_in and PUBLIC_WRITE_SCOPE not in self.scopes:
            return _error("not_in_channel")
        if not _has_content(params):
            return _error("no_text")
        invalid = _content_error(params)
        if invalid is not None:
            return invalid
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
        thread_ts = str(params.get("thread_ts") or "")
        if thread_ts and (channel_id, thread_ts) not in self._messages:
            # A thread_ts that is no message of this channel: chat.postMessage documents no
            # error for it (thread_not_found belongs to conversations.replies), and Slack is
            # reported to answer ok with a ts while the reply shows up nowhere - neither in
            # the channel nor in any thread (slackapi/node-slack-sdk#780,
            # slackapi/python-slack-sdk#840, jolicode/slack-php-api#40). So: ok, but the
            # message goes to orphaned_replies(), not messages().
            self._orphans[(channel_id, ts)] = dict(message)
        else:
            # A copy, so a later chat.update does not rewrite this call's recorded answer.
            self._messages[(channel_id, ts)] = dict(message)
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def _response(self, params: JSON) -> JSON:
        """A POST to a response_url. With `replace_original`, a click's URL edits the message
        clicked on (the bot's own, with chat.update's content rules); other answers are only
        recorded. `delete_original` is not modelled (the bot never sends it)."""
        if str(params.get("replace_original")).lower() not in ("true", "1"):
            return {"ok": True}
        _, _, where = str(params.get("name", "")).partition("--")
        channel_id, _, ts = where.partition("--")
        # A slash command's URL names no message: message_not_found, as for a message gone.
        refused = self._edit((channel_id, ts), params, ("text", "blocks"))
        return refused or {"ok": True}

    def _edit(self, key: tuple[str, str], params: JSON, fields: tuple[str, ...]) -> JSON | None:
        """chat.update's rules for editing a message (the bot's own, content within Slack's
        limits); the refusal, or None once `fields` are replaced (caller holds the lock)."""
        message = self._messages.get(key)
        if message is None:
            return _error("message_not_found")
        if message.get("bot_id") != BOT_ID:
            return _error("cant_update_message")
        if not _has_content(params):
            return _error("no_text")
        invalid = _content_error(params)
        if invalid is not None:
            return invalid
        for field_name in fields:
            if field_name in params:
                message[field_name] = params[field_name]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return None

    def _chat_update(self, params: JSON, token: str | None) -> JSON:
        channel_id, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        channel, refused = self._visible(channel_id)
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if channel.archived:
            # chat.update documents is_inactive: "cannot be edited within a frozen, archived or
            # deleted channel" (it lists no is_archived).
            return _error("is_inactive")
        refused = self._edit(
            (channel_id, ts), params, ("text", "blocks", "attachments", "metadata")
        )
        if refused is not None:
            return refused
        message = self._messages[(channel_id, ts)]
        return {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, params: JSON, token: str | None) -> JSON:
        channel, refused = self._visible(str(params.get("channel") or ""))
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if channel.archived:
            return _error("is_archived")
        if not params.get("user"):
            return _error("user_not_in_channel")
        if not _has_content(params):
            return _error("no_text")
        invalid = _content_error(params)
        if invalid is not None:
            return invalid
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, params: JSON, token: str | None) -> JSON:
        channel_id, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        _, refused = self._visible(channel_id)
        if refused is not None:
            return refused
        message = self._messages.get((channel_id, ts))
        if message is None:
            return _error("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        if message.get("thread_ts"):
            link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return {"ok": True, "channel": channel_id, "permalink": link}

    def _conversations_info(self, params: JSON, token: str | None) -> JSON:
        channel, refused = self._visible(str(params.get("channel", "")))
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        info: JSON = {"id": channel.id, "is_archived": channel.archived}
        if channel.is_im:
            info.update({"is_im": True, "is_private": True, "user": channel.im_user})
        else:
            info.update(
                {
                    "name": channel.name,
                    "is_channel": not channel.private,
                    "is_group": channel.private,
                    "is_im": False,
                    "is_private": channel.private,
                    "is_member": channel.member,
                }
            )
        return {"ok": True, "channel": info}

    def _conversations_join(self, params: JSON, token: str | None) -> JSON:
        channel, refused = self._visible(str(params.get("channel", "")))
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if channel.private or channel.is_im:  # only public channels can be joined
            return _error("method_not_supported_for_channel_type")
        if channel.archived:
            return _error("is_archived")
        already = channel.member
        self._channels[channel.id] = dataclasses.replace(channel, member=True)
        answer: JSON = {"ok": True, "channel": {"id": channel.id, "name": channel.name}}
        if already:
            answer["warning"] = "already_in_channel"
        return answer

    def _readable(self, channel_id: str) -> tuple[Channel | None, JSON | None]:
        """A conversation whose messages the bot may read: it must be in it."""
        channel, refused = self._visible(channel_id)
        if refused is not None or channel is None:
            return None, refused or _error("channel_not_found")
        if not channel.bot_in:
            return None, _error("not_in_channel")
        return channel, None

    def _conversations_history(self, params: JSON, token: str | None) -> JSON:
        channel_id = str(params.get("channel", ""))
        _, refused = self._readable(channel_id)
        if refused is not None:
            return refused
        top = [
            dict(m)
            for (ch, _), m in self._messages.items()
            if ch == channel_id and m.get("thread_ts") in (None, m["ts"])
        ]
        top.sort(key=lambda m: float(m["ts"]), reverse=True)
        limit = self._read_limit(params)
        if limit is None:
            return _invalid_arguments("limit must be a number")
        return {"ok": True, "messages": top[:limit], "has_more": len(top) > limit}

    def _conversations_replies(self, params: JSON, token: str | None) -> JSON:
        channel_id, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        _, refused = self._readable(channel_id)
        if refused is not None:
            return refused
        message = self._messages.get((channel_id, ts))
        if message is None:
            return _error("thread_not_found")
        root = str(message.get("thread_ts") or ts)
        thread = [
            dict(m)
            for (ch, _), m in self._messages.items()
            if ch == channel_id and (m["ts"] == root or m.get("thread_ts") == root)
        ]
        thread.sort(key=lambda m: float(m["ts"]))
        limit = self._read_limit(params)
        if limit is None:
            return _invalid_arguments("limit must be a number")
        return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}

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
        targets: list[str] = []
        if params.get("channel_id"):
            targets.append(str(params["channel_id"]))
        extra = params.get("channels")
        if isinstance(extra, str):
            targets.extend(c.strip() for c in extra.split(",") if c.strip())
        elif isinstance(extra, list):
            targets.extend(str(c) for c in extra)
        for target in targets:
            channel, refused = self._visible(target)
            if refused is not None or channel is None:
                return refused or _error("channel_not_found")
            if channel.archived:
                return _error("is_archived")
            if not channel.bot_in:
                # Sharing a file needs real membership: chat:write.public only covers
                # chat.postMessage (getnao/nao#1372: message posted, upload not_in_channel).
                return _error("not_in_channel")
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
                    "channels": targets,
                    "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{file_id}",
                }
            )
        return {"ok": True, "files": done}

    def _reactions_add(self, params: JSON, token: str | None) -> JSON:
        channel_id, ts = str(params.get("channel", "")), str(params.get("timestamp", ""))
        name = str(params.get("name", "")).strip(":")
        channel, refused = self._visible(channel_id)
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if channel.archived:
            return _error("is_archived")
        if not name:
            return _error("invalid_name")
        message = self._messages.get((channel_id, ts))
        if message is None:
            return _error("message_not_found")
        reactions: list[JSON] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if BOT_USER_ID in reaction["users"]:
                    return _error("already_reacted")
                reaction["users"].append(BOT_USER_ID)
                reaction["count"] += 1
                return {"ok": True}
        reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        return {"ok": True}

    @staticmethod
    def _opened(view: JSON) -> JSON:
        return {"ok": True, "view": {"id": "V0" + uuid.uuid4().hex[:9].upper(), **view}}

    def _views_open(self, params: JSON, token: str | None) -> JSON:
        # https://docs.slack.dev/reference/methods/views.open: a modal, opened by exchanging a
        # trigger_id (or interactivity_pointer) once: exchanged_trigger_id for a second use. A
        # view of another type is `must be a valid enum value` (slackapi/node-slack-sdk#925);
        # no trigger at all is assumed to be invalid_arguments too.
        view = params.get("view")
        trigger = str(params.get("trigger_id") or params.get("interactivity_pointer") or "")
        if not isinstance(view, dict):
            return _invalid_arguments("missing required field: view [json-pointer:/view]")
        if not trigger:
            return _invalid_arguments(
                "missing required field: trigger_id [json-pointer:/trigger_id]"
            )
        if view.get("type") != "modal":
            return _invalid_arguments("must be a valid enum value [json-pointer:/view/type]")
        if trigger in self._exchanged_triggers:
            return _error("exchanged_trigger_id")
        self._exchanged_triggers.add(trigger)
        return self._opened(view)

    def _views_publish(self, params: JSON, token: str | None) -> JSON:
        # https://docs.slack.dev/reference/methods/views.publish: user_id and view are required;
        # not_enabled "if a home view is published but the Home tab isn't enabled for the app".
        view = params.get("view")
        if not isinstance(view, dict):
            return _invalid_arguments("missing required field: view [json-pointer:/view]")
        if not params.get("user_id"):
            return _invalid_arguments("missing required field: user_id [json-pointer:/user_id]")
        if view.get("type") != "home":
            return _invalid_arguments("must be a valid enum value [json-pointer:/view/type]")
        if not self.home_tab:
            return _error("not_enabled")
        return self._opened(view)

    def _views_update(self, params: JSON, token: str | None) -> JSON:
        view = params.get("view")
        view_id = params.get("view_id") or params.get("external_id")
        if not isinstance(view, dict) or not view_id:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {"id": str(params.get("view_id") or ""), **view}}

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
