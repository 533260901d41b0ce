"""ECR edge: makes a plain distribution (docker-registry) answer like Amazon ECR's data plane.

A threaded TLS reverse proxy in front of the registry. It asks moto (through boto3) what ECR's
control plane would know, the way the real ECR front end does:

* a request for ``/v2/<name>/...`` whose repository moto does not know gets 404 NAME_UNKNOWN;
* ``PUT /v2/<name>/manifests/<tag>`` is recorded in moto (``put_image``, with the manifest's real
  sha256 digest) before the registry stores it, so ``describe_images`` knows every pushed image,
  and tag immutability is enforced with ECR's 400 TAG_INVALID;
* faults set per repository over a plain-HTTP control server (``PUT /faults/<name>`` with
  ``{"fault": "expired_token" | "deny_upload" | "bad_credentials" | "upload_error" |
  "upload_reset", "times": N}``, ``DELETE /faults/<name>``, ``DELETE /faults``, ``GET /faults``,
  ``GET /healthz``) answer as ECR does in those cases. ``upload_error`` answers a layer upload
  with 500, ``upload_reset`` cuts its connection; with ``times`` a fault clears itself after
  answering that many requests (a transient fault), without it it stays until deleted;
* routes, also over the control server (``PUT /routes/<name>`` with ``{"aws_endpoint":
  "http://127.0.0.1:<port>"}``, ``DELETE /routes/<name>``, ``GET /routes``): that repository's
  control plane is another loopback moto, the console sandbox's own, so the sandbox pushes
  through this edge without sharing the test services' moto (and its test leftovers).

Several accounts: the account in the Host (``<account>.dkr.ecr.<region>.amazonaws.com``) picks
moto's account (its ``x-moto-account-id`` header) and the registry behind it: ``--registry
ACCOUNT=URL`` gives an account its own registry, with its own blobs and its own password, so a
copy between accounts sends every blob as it would between two ECRs; any other account's host is
served from ``--upstream``.

Everything else, the real Basic auth included (htpasswd ``AWS`` / ``<account>-auth-token``, which
is what moto's ``get_authorization_token`` hands out), is passed through to the registry. Bodies
are streamed both ways; only manifests (ECR caps them at 4 MiB) are read whole.

Run: ``python3 -m tests.standins.ecr_edge --help`` (``scripts/test-services up`` starts it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("ecr_edge")

FAULTS = ("expired_token", "deny_upload", "bad_credentials", "upload_error", "upload_reset")
HOST_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?::\d+)?$"
)
# Non-greedy name: the first /manifests/, /blobs/ or /tags/ ends it, as in the registry's routes.
REPO_PATH_RE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)/(?P<rest>.*)$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
# Headers that describe one hop, not the message; the edge frames each side itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
PIECE = 64 * 1024
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # ECR's own limit on an image manifest
UPSTREAM_TIMEOUT = 300.0


def error_body(code: str, message: str, detail: object = None) -> bytes:
    """The registry's (and ECR's) JSON error document."""
    error: dict[str, object] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return json.dumps({"errors": [error]}).encode()


def access_records(method: str, name: str) -> list[dict[str, str]]:
    """The ``detail`` the registry gives with a 401 for a wrong password: what was asked for.

    It matters to docker: an UNAUTHORIZED error without detail (its message being the code's
    default one) is decoded as a bare error code, which docker's push retries five times over
    ~50 s and then reports as just "unauthorized"; with the detail, as the registry sends it,
    docker stops at once with "unauthorized: authentication required".
    """
    actions = {"GET": ["pull"], "HEAD": ["pull"], "DELETE": ["delete"]}.get(
        method, ["pull", "push"]
    )
    return [{"Type": "repository", "Class": "", "Name": name, "Action": a} for a in actions]


def aws_error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Faults:
    """Faults per repository name, so tests running side by side never see each other's.

    A fault set with `times` answers that many requests, then clears itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, str] = {}
        self._left: dict[str, int] = {}

    def set(self, repository: str, fault: str, times: int | None = None) -> None:
        with self._lock:
            self._faults[repository] = fault
            if times is None:
                self._left.pop(repository, None)
            else:
                self._left[repository] = times

    def clear(self, repository: str | None = None) -> None:
        with self._lock:
            if repository is None:
                self._faults.clear()
                self._left.clear()
            else:
                self._faults.pop(repository, None)
                self._left.pop(repository, None)

    def get(self, repository: str) -> str | None:
        with self._lock:
            return self._faults.get(repository)

    def spend(self, repository: str) -> None:
        """One request was answered with the fault: a counted fault clears itself at zero."""
        with self._lock:
            if repository in self._left:
                self._left[repository] -= 1
                if self._left[repository] <= 0:
                    self._faults.pop(repository, None)
                    self._left.pop(repository, None)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._faults)


class Routes:
    """Repositories whose control plane is another moto (the console sandbox's own), set over
    the control server; every other repository uses the edge's moto."""

    def __init__(self, cache_seconds: float) -> None:
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._motos: dict[str, Moto] = {}

    def set(self, repository: str, endpoint: str) -> None:
        with self._lock:
            self._motos[repository] = Moto(endpoint, self._cache_seconds)

    def clear(self, repository: str) -> None:
        with self._lock:
            self._motos.pop(repository, None)

    def get(self, repository: str) -> Moto | None:
        with self._lock:
            return self._motos.get(repository)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return {name: moto.endpoint for name, moto in self._motos.items()}


class Moto:
    """ECR's control plane as moto server knows it, one boto3 client per region."""

    def __init__(self, endpoint: str, cache_seconds: float) -> None:
        self.endpoint = endpoint
        self._endpoint = endpoint
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        # Only "exists" is cached (briefly): a repository created a moment ago must work at once.
        self._exists_until: dict[tuple[str, str, str], float] = {}

    def client(self, region: str, account: str) -> Any:
        """ECR in `region` of `account` (moto keeps accounts apart by x-moto-account-id)."""
        with self._lock:
            if (region, account) not in self._clients:
                # Creating clients is not thread-safe in botocore; using one is.
                client = boto3.session.Session().client(
                    "ecr",
                    region_name=region,
                    endpoint_url=self._endpoint,
                    aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                    config=Config(
                        retries={"max_attempts": 2, "mode": "standard"},
                        connect_timeout=5,
                        read_timeout=30,
                    ),
                )
                client.meta.events.register(
                    "before-sign",
                    lambda request, **_: request.headers.__setitem__("x-moto-account-id", account),
                )
                self._clients[(region, account)] = client
            return self._clients[(region, account)]

    def repository_exists(self, account: str, region: str, name: str) -> bool:
        key = (account, region, name)
        now = time.monotonic()
        with self._lock:
            if self._exists_until.get(key, 0.0) > now:
                return True
        try:
            found = self.client(region, account).describe_repositories(
                registryId=account, repositoryNames=[name]
            )["repositories"]
        except ClientError as error:
            if aws_error_code(error) != "RepositoryNotFoundException":
                raise
            found = []
        if found:
            with self._lock:
                self._exists_until[key] = now + self._cache_seconds
        return bool(found)

    def tag_digest(self, account: str, region: str, name: str, tag: str) -> str | None:
        try:
            details = self.client(region, account).describe_images(
                registryId=account, repositoryName=name, imageIds=[{"imageTag": tag}]
            )["imageDetails"]
        except ClientError:
            return None
        return str(details[0]["imageDigest"]) if details else None


class EdgeHandler(BaseHTTPRequestHandler):
    """One client connection (HTTP/1.1, kept alive) to the ECR host."""

    # Keep-alive for clients that want it (dockerd 20.10 itself opens one connection a request).
    protocol_version = "HTTP/1.1"
    server_version = "ecr-edge"
    timeout = UPSTREAM_TIMEOUT  # idle or stalled client connections end eventually
    server: EdgeServer
    headers_sent = False  # once the status line is out, errors can only hang up
    body_pending = False  # some of the request body is still unread
    body_started = False  # some of it has been read (so it cannot simply be drained now)

    def do_GET(self) -> None:
        self.handle_any()

    def do_HEAD(self) -> None:
        self.handle_any()

    def do_POST(self) -> None:
        self.handle_any()

    def do_PUT(self) -> None:
        self.handle_any()

    def do_PATCH(self) -> None:
        self.handle_any()

    def do_DELETE(self) -> None:
        self.handle_any()

    def log_message(self, format: str, *args: Any) -> None:
        LOG.info("%s %s", self.address_string(), format % args)

    # -- ECR behaviour -----------------------------------------------------------------

    def handle_any(self) -> None:
        self.body_pending = self.is_chunked() or bool(self.content_length())
        match = REPO_PATH_RE.match(urlsplit(self.path).path)
        if match is None:
            self.forward()
            return
        name, kind, rest = unquote(match["name"]), match["kind"], match["rest"]
        host = self.headers.get("Host", "")
        ecr_host = HOST_RE.match(host)
        if ecr_host is None:
            self.send_registry_error(
                400, "UNSUPPORTED", f"ECR edge: {host!r} is not an ECR registry host name"
            )
            return
        account, region = ecr_host["account"], ecr_host["region"]
        if self.inject_fault(name, kind, rest, host, account, region):
            self.server.faults.spend(name)
            return
        if self.headers.get("Authorization") is None:
            # ECR turns away anonymous callers before it looks anything up: the registry's 401.
            self.forward()
            return
        try:
            exists = self.server.moto_for(name).repository_exists(account, region, name)
        except (BotoCoreError, ClientError) as error:
            LOG.exception("moto lookup of %s failed", name)
            self.send_registry_error(500, "UNKNOWN", f"ECR edge: moto lookup failed: {error}")
            return
        if not exists and not self.credentials_accepted():
            # ECR checks the caller before the repository: wrong credentials get the 401.
            self.forward()
            return
        if not exists:
            self.send_registry_error(
                404,
                "NAME_UNKNOWN",
                f"The repository with name '{name}' does not exist in the registry "
                f"with id '{account}'",
            )
            return
        if self.command == "PUT" and kind == "manifests" and not DIGEST_RE.match(rest):
            self.put_manifest(account, region, name, unquote(rest))
            return
        self.forward()

    def inject_fault(
        self, name: str, kind: str, rest: str, host: str, account: str, region: str
    ) -> bool:
        """Answers as ECR does under the fault set for this repository; False if none applies."""
        fault = self.server.faults.get(name)
        challenge = (
            "WWW-Authenticate",
            f'Basic realm="https://{host}/",service="ecr.amazonaws.com"',
        )
        if fault == "expired_token":
            self.send_registry_error(
                401,
                "DENIED",
                "Your authorization token has expired. Reauthenticate and try again.",
                [challenge],
            )
            return True
        if fault == "bad_credentials":
            # Word for word what the registry says to a wrong password.
            self.send_registry_error(
                401,
                "UNAUTHORIZED",
                "authentication required",
                [challenge],
                access_records(self.command, name),
            )
            return True
        if (
            fault == "deny_upload"
            and self.command == "POST"
            and kind == "blobs"
            and (rest in ("uploads", "uploads/"))
        ):
            self.send_registry_error(
                403,
                "DENIED",
                f"User: arn:aws:sts::{account}:assumed-role/ecrbot/ecrbot is not authorized to "
                f"perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:{region}:{account}:"
                f"repository/{name} because no identity-based policy allows the "
                "ecr:InitiateLayerUpload action",
            )
            return True
        uploading = (
            kind == "blobs" and rest.startswith("uploads/") and self.command in ("PATCH", "PUT")
        )
        if fault == "upload_error" and uploading:
            self.send_registry_error(500, "UNKNOWN", "ECR edge: injected upload failure")
            return True
        if fault == "upload_reset" and uploading:
            # Cut the connection mid-upload, as a load balancer resetting it would.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        return False

    def put_manifest(self, account: str, region: str, name: str, tag: str) -> None:
        """Records a tagged manifest in moto (ECR's PutImage), then lets the registry store it."""
        body = self.read_whole_body(MAX_MANIFEST_BYTES)
        if body is None:
            self.send_registry_error(400, "MANIFEST_INVALID", "manifest is larger than 4 MiB")
            return
        if not self.credentials_accepted():
            # Nothing may be recorded for a caller the registry will turn away; let it do so.
            self.forward(body)
            return
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        media_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        params: dict[str, Any] = {
            "registryId": account,
            "repositoryName": name,
            "imageManifest": body.decode("utf-8", errors="replace"),
            "imageTag": tag,
            "imageDigest": digest,
        }
        if media_type:
            params["imageManifestMediaType"] = media_type
        recorded = False
        try:
            self.server.moto_for(name).client(region, account).put_image(**params)
            recorded = True
        except ClientError as error:
            code = aws_error_code(error)
            if code not in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException"):
                LOG.warning("moto put_image %s:%s refused: %s", name, tag, error)
                self.send_registry_error(400, "MANIFEST_INVALID", str(error))
                return
            # moto raises the same exception for "this exact image and tag again" (a no-op in
            # ECR) and for an immutable tag that would move: the tag's digest tells them apart.
            if self.server.moto_for(name).tag_digest(account, region, name, tag) != digest:
                self.send_registry_error(
                    400,
                    "TAG_INVALID",
                    f"The image tag '{tag}' already exists in the '{name}' repository and "
                    "cannot be overwritten because the repository is immutable.",
                )
                return
        except BotoCoreError as error:
            self.send_registry_error(500, "UNKNOWN", f"ECR edge: moto put_image failed: {error}")
            return

        def settle(response: http.client.HTTPResponse) -> None:
            # Before the client hears the answer, so what it asks moto next is already true.
            if 200 <= response.status < 300:
                stored = response.getheader("Docker-Content-Digest")
                if stored != digest:
                    LOG.error(
                        "digest mismatch %s:%s: moto %s, registry %s", name, tag, digest, stored
                    )
            elif recorded:
                # The registry refused what moto already took: take the tag back out of moto.
                try:
                    self.server.moto_for(name).client(region, account).batch_delete_image(
                        registryId=account, repositoryName=name, imageIds=[{"imageTag": tag}]
                    )
                except (BotoCoreError, ClientError):
                    LOG.exception("could not take %s:%s back out of moto", name, tag)

        self.forward(body, settle)

    def credentials_accepted(self) -> bool:
        upstream = self.server.upstream_connection(self.headers.get("Host", ""))
        try:
            authorization = self.headers["Authorization"]
            upstream.request("GET", "/v2/", headers={"Authorization": authorization})
            response = upstream.getresponse()
            response.read()
            return response.status == 200
        finally:
            upstream.close()

    # -- HTTP plumbing -----------------------------------------------------------------

    def is_chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.strip().isdigit() else None

    def iter_body(self) -> Iterator[bytes]:
        """The client's request body, piece by piece, chunked or sized."""
        self.body_started = True
        if self.is_chunked():
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers (if any) end with a blank line, as does the body.
                    while self.rfile.readline(65536).strip():
                        pass
                    break
                yield from self.read_exactly(size)
                self.rfile.readline(1024)  # the CRLF that closes each chunk
        else:
            yield from self.read_exactly(self.content_length() or 0)
        self.body_pending = False

    def read_exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            piece = self.rfile.read1(min(PIECE, size))
            if not piece:
                raise ConnectionError("client closed the connection mid-body")
            size -= len(piece)
            yield piece

    def read_whole_body(self, limit: int) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        for piece in self.iter_body():
            total += len(piece)
            if total <= limit:
                parts.append(piece)
        # Read to the end even when too large: the answer must not race an unread body.
        return b"".join(parts) if total <= limit else None

    def discard_body(self) -> None:
        """Reads and drops an untouched request body before an early answer.

        Hanging up on unread data makes the kernel reset the connection, and a reset can
        destroy the answer before the client reads it: docker would see "connection reset"
        instead of ECR's error. Registry bodies here are on loopback, so reading is cheap.
        """
        if self.body_pending and not self.body_started:
            try:
                for _ in self.iter_body():
                    pass
            except (OSError, ValueError) as error:
                LOG.warning("could not read past the request body: %s", error)

    def forward(
        self,
        body: bytes | None = None,
        settle: Callable[[http.client.HTTPResponse], None] | None = None,
    ) -> None:
        """Sends this request to the registry and its answer back, streaming both bodies.

        ``settle`` sees the registry's answer (status and headers) before the client does.
        """
        upstream = self.server.upstream_connection(self.headers.get("Host", ""))
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    upstream.putheader(key, value)
            upstream.putheader("X-Forwarded-Proto", "https")
            chunked = body is None and self.is_chunked()
            if body is not None:
                upstream.putheader("Content-Length", str(len(body)))
            elif chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            elif self.content_length() is not None:
                upstream.putheader("Content-Length", str(self.content_length()))
            upstream.endheaders()
            try:
                if body is not None:
                    upstream.send(body)
                else:
                    for piece in self.iter_body():
                        upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    if chunked:
                        upstream.send(b"0\r\n\r\n")
            except OSError as error:
                # The registry may answer (say 401) and hang up before taking the whole body:
                # its answer is still worth relaying, and the client connection is spent.
                LOG.warning("sending body upstream failed: %s", error)
            response = upstream.getresponse()
            if settle is not None:
                settle(response)
            self.relay(response)
        except (OSError, http.client.HTTPException) as error:
            LOG.warning("proxying %s %s failed: %s", self.command, self.path, error)
            if not self.headers_sent:
                self.send_registry_error(502, "UNKNOWN", f"ECR edge: registry unreachable: {error}")
            else:
                self.close_connection = True
        finally:
            upstream.close()

    def relay(self, response: http.client.HTTPResponse) -> None:
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        self.headers_sent = True
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        sized = response.length is not None and not response.chunked
        for key, value in response.getheaders():
            lower = key.lower()
            if lower in HOP_BY_HOP or (lower == "content-length" and not (no_body or sized)):
                continue
            self.send_header(key, value)
        if not (no_body or sized):
            self.send_header("Transfer-Encoding", "chunked")
        if self.body_pending:
            self.send_header("Connection", "close")  # sets close_connection as well
        self.end_headers()
        if no_body:
            return
        while piece := response.read1(PIECE):
            self.wfile.write(piece if sized else b"%x\r\n%s\r\n" % (len(piece), piece))
        if not sized:
            self.wfile.write(b"0\r\n\r\n")

    def send_registry_error(
        self,
        status: int,
        code: str,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        detail: object = None,
    ) -> None:
        payload = error_body(code, message, detail)
        self.discard_body()
        LOG.info("%s %s -> %d %s", self.command, self.path, status, code)
        self.send_response_only(status)
        self.headers_sent = True
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers or []:
            self.send_header(key, value)
        if self.body_pending:
            # What is left of the body would be taken for the next request: hang up instead.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def parse_request(self) -> bool:
        self.headers_sent = False
        self.body_pending = False
        self.body_started = False
        return super().parse_request()


class EdgeServer(ThreadingHTTPServer):
    """The ECR host: TLS, a thread per connection."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        context: ssl.SSLContext,
        upstream: str,
        moto: Moto,
        faults: Faults,
        routes: Routes | None = None,
        registries: dict[str, str] | None = None,
    ) -> None:
        self.context = context
        self.upstream = _address(upstream)
        # Another account's registry host is served from its own registry (its own blobs):
        # a promotion across accounts copies every blob, as it would between two ECRs.
        self.registries = {a: _address(url) for a, url in (registries or {}).items()}
        self.moto = moto
        self.faults = faults
        self.routes = routes or Routes(1.0)
        super().__init__(address, EdgeHandler)

    def moto_for(self, repository: str) -> Moto:
        return self.routes.get(repository) or self.moto

    def upstream_connection(self, host: str) -> http.client.HTTPConnection:
        """The registry behind ECR host `host`: its account's own, else the default one."""
        # A connection per request: the registry is on loopback, so this costs next to nothing
        # and no stale keep-alive connection can ever swallow a request.
        found = HOST_RE.match(host)
        address = self.registries.get(found["account"], self.upstream) if found else self.upstream
        return http.client.HTTPConnection(*address, timeout=UPSTREAM_TIMEOUT)

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a client that stalls
        # mid-handshake cannot hold up accept() for everybody else.
        assert isinstance(request, socket.socket)
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as error:
            LOG.warning("TLS handshake with %s failed: %s", client_address, error)
            return
        try:
            EdgeHandler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.warning("connection from %s ended with an error", client_address, exc_info=True)


class ControlHandler(BaseHTTPRequestHandler):
    """Plain-HTTP control: health and per-repository faults."""

    protocol_version = "HTTP/1.1"
    server: ControlServer

    def log_message(self, format: str, *args: Any) -> None:
        LOG.info("control %s", format % args)

    def reply(self, status: int, document: object) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.reply(200, {"status": "ok"})
        elif self.path == "/faults":
            self.reply(200, self.server.faults.snapshot())
        elif self.path == "/routes":
            self.reply(200, self.server.routes.snapshot())
        else:
            self.reply(404, {"error": f"no such endpoint: {self.path}"})

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.startswith("/routes/") and len(self.path) > len("/routes/"):
            self._route(unquote(self.path[len("/routes/") :]), raw)
            return
        if not self.path.startswith("/faults/") or len(self.path) <= len("/faults/"):
            self.reply(404, {"error": "PUT /faults/<repository> only"})
            return
        repository = unquote(self.path[len("/faults/") :])
        try:
            asked = json.loads(raw or b"{}")
            fault, times = asked.get("fault"), asked.get("times")
        except (ValueError, AttributeError):
            fault, times = None, None
        if fault not in FAULTS or not (times is None or (isinstance(times, int) and times > 0)):
            wanted = f'{{"fault": one of {list(FAULTS)}, "times": N (optional)}}'
            self.reply(400, {"error": f"body must be {wanted}"})
            return
        self.server.faults.set(repository, fault, times)
        self.reply(200, {"repository": repository, "fault": fault, "times": times})

    def _route(self, repository: str, raw: bytes) -> None:
        """`PUT /routes/<repository>` {"aws_endpoint": "http://127.0.0.1:PORT"}: a loopback moto."""
        try:
            endpoint = str(json.loads(raw or b"{}").get("aws_endpoint") or "")
        except (ValueError, AttributeError):
            endpoint = ""
        if not re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}", endpoint):
            self.reply(400, {"error": 'body must be {"aws_endpoint": "http://127.0.0.1:<port>"}'})
            return
        self.server.routes.set(repository, endpoint)
        self.reply(200, self.server.routes.snapshot())

    def do_DELETE(self) -> None:
        if self.path.startswith("/routes/"):
            self.server.routes.clear(unquote(self.path[len("/routes/") :]))
            self.reply(200, self.server.routes.snapshot())
            return
        if self.path == "/faults":
            self.server.faults.clear()
        elif self.path.startswith("/faults/"):
            self.server.faults.clear(unquote(self.path[len("/faults/") :]))
        else:
            self.reply(404, {"error": "DELETE /faults or /faults/<repository> only"})
            return
        self.reply(200, self.server.faults.snapshot())


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], faults: Faults, routes: Routes) -> None:
        self.faults = faults
        self.routes = routes
        super().__init__(address, ControlHandler)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def parse_registry(value: str) -> tuple[str, str]:
    account, _, url = value.partition("=")
    if not re.fullmatch(r"\d{12}", account) or not url.startswith("http://"):
        raise argparse.ArgumentTypeError(f"expected ACCOUNT=http://HOST:PORT, got {value!r}")
    return account, url


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)  # noqa: S104 - listening everywhere is the point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listen", default="0.0.0.0:443", help="TLS address for the ECR host")
    parser.add_argument("--control", default="127.0.0.1:4431", help="plain-HTTP control address")
    parser.add_argument("--upstream", default="http://127.0.0.1:5000", help="the registry")
    parser.add_argument(
        "--registry",
        type=parse_registry,
        action="append",
        default=[],
        metavar="ACCOUNT=URL",
        help="another account's registry (its own storage) for that account's ECR host",
    )
    parser.add_argument("--aws-endpoint", default="http://127.0.0.1:5001", help="moto server")
    parser.add_argument("--cert", required=True, help="server certificate (PEM) for the ECR host")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--cache-seconds", type=float, default=1.0, help="repository cache TTL")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(message)s"
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["http/1.1"])  # no h2: this is an HTTP/1.1 server

    faults = Faults()
    edge = EdgeServer(
        parse_address(args.listen),
        context,
        args.upstream,
        Moto(args.aws_endpoint, args.cache_seconds),
        faults,
        routes := Routes(args.cache_seconds),
        dict(args.registry),
    )
    control = ControlServer(parse_address(args.control), faults, routes)
    threading.Thread(target=control.serve_forever, name="control", daemon=True).start()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    LOG.info(
        "ECR edge on %s -> %s %s (moto %s), control on %s",
        args.listen,
        args.upstream,
        dict(args.registry),
        args.aws_endpoint,
        args.control,
    )
    try:
        edge.serve_forever()
    finally:
        control.server_close()
        edge.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
