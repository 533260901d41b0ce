"""A fault-injecting HTTP proxy in front of moto: AWS throttling and timeouts on chosen calls.

moto answers every call at once and never throttles. Put this between the bot and moto
(`AWS_ENDPOINT_URL` = its `url`) to make named operations answer the way AWS does when it
throttles (HTTP 400, `ThrottlingException` for JSON services such as ECR, `Throttling` for query
services such as IAM and STS), or stall past the client's read timeout.

Every STS `AssumeRole` is recorded (`assumed`: its RoleArn, RoleSessionName, SourceIdentity,
Tags and TransitiveTagKeys) and checked as STS checks it, which moto does not: a
SourceIdentity or session name outside 2-64 characters of `[A-Za-z0-9_+=,.@-]` or starting
`aws:`, more than 50 tags, a tag key or value too long, or a transitive key that is not a tag,
answers `ValidationError`.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    kind: str  # "throttle" | "stall"
    seconds: float = 0.0
    left: int | None = None  # None: until cleared


class AwsFaults:
    """Forwards to `upstream` (moto); `throttle()` and `stall()` choose operations to hurt."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._faults: list[_Fault] = []
        self._hooks: list[tuple[re.Pattern[str], Callable[[], None]]] = []
        self._answers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.hurt: list[tuple[str, str]] = []  # (operation, fault) as injected
        self.assumed: list[dict[str, Any]] = []  # every AssumeRole's parameters, in order
        self._denied: set[str] = set()  # roles whose trust policy does not name the caller
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.faults = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AwsFaults:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, operations: str, times: int | None = None) -> None:
        """Operations whose name matches the regex answer AWS's throttling error."""
        with self._lock:
            self._faults.append(_Fault(re.compile(operations), "throttle", left=times))

    def stall(self, operations: str, seconds: float, times: int | None = None) -> None:
        """Operations whose name matches wait `seconds` before moto sees them."""
        with self._lock:
            self._faults.append(_Fault(re.compile(operations), "stall", seconds, times))

    def on_call(self, operations: str, hook: Callable[[], None]) -> None:
        """Run `hook` when an operation matching the regex arrives (before it is forwarded)."""
        with self._lock:
            self._hooks.append((re.compile(operations), hook))

    def deny_role(self, role_arn: str) -> None:
        """AssumeRole of `role_arn` is refused as STS refuses a caller its trust policy does
        not name: 403 AccessDenied (moto assumes any role)."""
        with self._lock:
            self._denied.add(role_arn)

    def answer(self, operation: str, payload: dict[str, Any]) -> None:
        """Answer a JSON-protocol operation moto does not serve with `payload` (a shape
        botocore's service model accepts: `tests/unit/test_aws_standin_answers.py` checks the
        ones the benchmarks use), instead of forwarding it."""
        with self._lock:
            self._answers[operation] = payload

    def answer_for(self, operation: str) -> dict[str, Any] | None:
        with self._lock:
            return self._answers.get(operation)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._hooks.clear()

    def hooks_for(self, operation: str) -> list[Callable[[], None]]:
        with self._lock:
            return [hook for pattern, hook in self._hooks if pattern.fullmatch(operation)]

    def fault_for(self, operation: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.pattern.fullmatch(operation) and (fault.left is None or fault.left > 0):
                    if fault.left is not None:
                        fault.left -= 1
                    self.hurt.append((operation, fault.kind))
                    return fault
        return None

    def record_assume_role(self, body: bytes) -> str | None:
        """Record an AssumeRole; the reason STS would refuse it, or None."""
        params = dict(parse_qsl(body.decode("utf-8", "replace")))
        tags = {}
        for key, value in params.items():
            found = re.fullmatch(r"Tags\.member\.(\d+)\.Key", key)
            if found:
                tags[value] = params.get(f"Tags.member.{found.group(1)}.Value", "")
        transitive = [v for k, v in sorted(params.items()) if k.startswith("TransitiveTagKeys.")]
        call = {
            "RoleArn": params.get("RoleArn"),
            "RoleSessionName": params.get("RoleSessionName"),
            "SourceIdentity": params.get("SourceIdentity"),
            "Tags": tags,
            "TransitiveTagKeys": transitive,
        }
        with self._lock:
            self.assumed.append(call)
            if call["RoleArn"] in self._denied:
                return f"User: {CALLER} {DENIED} {call['RoleArn']}"
        return _sts_refusal(call, len([k for k in params if k.endswith(".Key")]))

    @property
    def upstream(self) -> tuple[str, int]:
        return self._upstream


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _serve(self) -> None:
        faults: AwsFaults = self.server.faults  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or ""
        json_protocol = bool(target)
        operation = target.rpartition(".")[2] if target else _query_action(body)
        for hook in faults.hooks_for(operation) if operation else ():
            hook()
        fault = faults.fault_for(operation) if operation else None
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "throttle":
            self._throttled(json_protocol)
            return
        refused = faults.record_assume_role(body) if operation == "AssumeRole" else None
        if refused is not None:
            self._refused(refused)
            return
        canned = faults.answer_for(operation) if json_protocol else None
        if canned is not None:
            self._answered(canned)
            return
        self._forward(faults.upstream, body)

    def _answered(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refused(self, message: str) -> None:
        denied = DENIED in message
        code, status = ("AccessDenied", 403) if denied else ("ValidationError", 400)
        data = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>00000000-aaaa-bbbb-cccc-000000000000</RequestId></ErrorResponse>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _throttled(self, json_protocol: bool) -> None:
        if json_protocol:
            payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            kind = "application/x-amz-json-1.1"
        else:
            payload = (
                '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
                "<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                "</Error><RequestId>00000000-aaaa-bbbb-cccc-000000000000</RequestId>"
                "</ErrorResponse>"
            )
            kind = "text/xml"
        data = payload.encode()
        self.send_response(400)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, upstream: tuple[str, int], body: bytes) -> None:
        conn = http.client.HTTPConnection(*upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Host"] = self.headers.get("Host", f"{upstream[0]}:{upstream[1]}")
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()


# STS's words when the role's trust policy does not name the caller.
CALLER = "arn:aws:iam::123456789012:user/moto"
DENIED = "is not authorized to perform: sts:AssumeRole on resource:"


def _query_action(body: bytes) -> str:
    return dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")


IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def _sts_refusal(call: dict[str, Any], tag_count: int) -> str | None:
    """What STS answers for parameters it refuses (STS API Reference, AssumeRole and Tag)."""
    for name in ("RoleSessionName", "SourceIdentity"):
        value = call[name]
        if value is None and name == "SourceIdentity":
            continue
        if value is None or not IDENTITY.fullmatch(value) or value.lower().startswith("aws:"):
            return f"1 validation error detected: Value at '{name[0].lower()}{name[1:]}' failed"
    tags: dict[str, str] = call["Tags"]
    if tag_count > 50 or len({k.lower() for k in tags}) != tag_count:
        return "Session tags: at most 50, keys unique (case-insensitive)"
    if any(
        not 1 <= len(k) <= 128 or len(v) > 256 or k.lower().startswith("aws:")
        for k, v in tags.items()
    ):
        return "1 validation error detected: Value at 'tags' failed to satisfy constraint"
    if any(k not in tags for k in call["TransitiveTagKeys"]):
        return "The transitive tag keys must be a subset of the session tags"
    return None
