"""A promotion's manifest work through the registry's API over TLS: which manifest a tag names,
and a second tag put on a manifest the repository holds. A local HTTPS registry stand-in
(certificates from trustme) answers as it is told and records what it was asked; a real
registry through the test edge is in test_promote.py."""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from bot.adapters.oci_media import MAX_MANIFEST
from bot.adapters.registry_manifests import RegistryManifests
from bot.domain.environments import NamedRegistry
from bot.domain.on_behalf import OnBehalf, current_on_behalf, on_behalf_of
from bot.domain.promotion import CopyFailed, ImageRef

REGISTRY = NamedRegistry("prod", "210987654321", "eu-west-2")
IMAGE = ImageRef(REGISTRY, "team/my-app", "1.4.0")
OCI = "application/vnd.oci.image.manifest.v1+json"
MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


@dataclass
class Answer:
    status: int = 200
    body: bytes = MANIFEST
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": OCI})
    chunked: bool = False  # no Content-Length: the body's size is known only by reading it


@dataclass
class Registry:
    origin: str
    ca_bundle: str
    answer: Answer
    asked: list[tuple[str, dict[str, str]]]
    put: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    put_status: int = 201


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    state = Registry("", str(bundle), Answer(), [])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.asked.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            answer = state.answer
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(answer.body), 1 << 20):
                    piece = answer.body[start : start + (1 << 20)]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.put.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            said = b"" if state.put_status == 201 else b'{"errors": [{"code": "TAG_INVALID"}]}'
            self.send_response(state.put_status)
            self.send_header("Content-Length", str(len(said)))
            self.end_headers()
            self.wfile.write(said)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the handshake the untrusted-CA test refuses: expected, not printed

    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.origin = f"https://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def reader(registry: Registry, ca_bundle: str | None = "") -> RegistryManifests:
    bundle = registry.ca_bundle if ca_bundle == "" else ca_bundle
    return RegistryManifests(
        lambda image: ("AWS", f"token-for-{image.registry.account_id}"),
        bundle,
        timeout_s=5,
        origin=lambda host: registry.origin,
    )


def test_the_digest_is_the_sha256_of_the_bytes_served(registry: Registry) -> None:
    assert reader(registry).digest(IMAGE) == DIGEST
    ((path, headers),) = registry.asked
    assert path == "/v2/team/my-app/manifests/1.4.0"
    assert headers["authorization"] == "Basic QVdTOnRva2VuLWZvci0yMTA5ODc2NTQzMjE="
    # Every manifest kind, indexes included: an index is named by its own digest.
    assert "application/vnd.oci.image.index.v1+json" in headers["accept"]
    assert "application/vnd.docker.distribution.manifest.v2+json" in headers["accept"]


def test_a_reference_by_digest_keeps_its_colon(registry: Registry) -> None:
    digest = "sha256:" + "a" * 64
    reader(registry).digest(ImageRef(REGISTRY, "my-app", digest))
    assert registry.asked[0][0] == f"/v2/my-app/manifests/{digest}"


def test_no_such_image_is_none(registry: Registry) -> None:
    registry.answer = Answer(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
    assert reader(registry).digest(IMAGE) is None


def test_a_refusal_says_what_the_registry_said(registry: Registry) -> None:
    registry.answer = Answer(401, b'{"errors": [{"code": "UNAUTHORIZED", "message": "expired"}]}')
    with pytest.raises(CopyFailed, match=r"answered 401: .*UNAUTHORIZED.*expired"):
        reader(registry).digest(IMAGE)


def test_a_redirect_is_not_followed(registry: Registry) -> None:
    registry.answer = Answer(307, b"", {"Location": "https://elsewhere.example/v2/x"})
    with pytest.raises(CopyFailed, match="answered 307"):
        reader(registry).digest(IMAGE)
    assert len(registry.asked) == 1


def test_a_manifest_over_the_limit_is_refused_by_its_length(registry: Registry) -> None:
    registry.answer = Answer(body=b" " * (MAX_MANIFEST + 1))
    with pytest.raises(CopyFailed, match=f"of {MAX_MANIFEST + 1} bytes, over {MAX_MANIFEST}"):
        reader(registry).digest(IMAGE)


def test_a_manifest_over_the_limit_is_refused_while_read(registry: Registry) -> None:
    registry.answer = Answer(body=b" " * (MAX_MANIFEST + 1), chunked=True)
    with pytest.raises(CopyFailed, match=f"over {MAX_MANIFEST} bytes"):
        reader(registry).digest(IMAGE)


def test_a_manifest_at_the_limit_is_read(registry: Registry) -> None:
    registry.answer = Answer(body=b" " * MAX_MANIFEST, chunked=True)
    assert reader(registry).digest(IMAGE) is not None


def test_a_registry_the_trust_store_does_not_vouch_for_is_refused(registry: Registry) -> None:
    with pytest.raises(CopyFailed, match="SSLError"):
        reader(registry, ca_bundle=None).digest(IMAGE)
    assert registry.asked == []


def test_a_manifest_of_a_type_not_asked_for_is_refused(registry: Registry) -> None:
    registry.answer = Answer(headers={"Content-Type": "text/html"})
    with pytest.raises(CopyFailed, match="of type 'text/html'"):
        reader(registry).digest(IMAGE)


def test_a_tag_is_put_with_the_bytes_read_by_digest(registry: Registry) -> None:
    reader(registry).tag(IMAGE, DIGEST)
    ((read, _),) = registry.asked
    assert read == f"/v2/team/my-app/manifests/{DIGEST}"
    ((path, headers, body),) = registry.put
    assert path == "/v2/team/my-app/manifests/1.4.0"
    assert body == MANIFEST and headers["content-type"] == OCI
    assert headers["authorization"] == "Basic QVdTOnRva2VuLWZvci0yMTA5ODc2NTQzMjE="


def test_a_tag_on_a_manifest_the_repository_lacks_is_refused(registry: Registry) -> None:
    registry.answer = Answer(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
    with pytest.raises(CopyFailed, match=f"holds no {DIGEST}"):
        reader(registry).tag(IMAGE, DIGEST)
    assert registry.put == []


def test_a_tag_is_refused_when_the_bytes_are_not_the_digest(registry: Registry) -> None:
    registry.answer = Answer(body=MANIFEST + b" ")
    with pytest.raises(CopyFailed, match="served another"):
        reader(registry).tag(IMAGE, DIGEST)
    assert registry.put == []


def test_a_tag_the_registry_refuses_says_so(registry: Registry) -> None:
    registry.put_status = 400
    with pytest.raises(CopyFailed, match=r"tagging .*:1.4.0: the registry answered 400: .*TAG_INV"):
        reader(registry).tag(IMAGE, DIGEST)


def test_a_bundle_that_is_no_certificate_says_so(registry: Registry, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    with pytest.raises(CopyFailed, match="ECRBOT_REGISTRY_CA_BUNDLE"):
        reader(registry, ca_bundle=str(broken)).digest(IMAGE)


def test_connections_are_kept_between_reads(registry: Registry) -> None:
    digests = reader(registry)
    for _ in range(3):
        digests.digest(IMAGE)
    assert len(registry.asked) == 3
    assert all(headers.get("connection") != "close" for _, headers in registry.asked)


def _join_prepare() -> None:
    for thread in threading.enumerate():
        if thread.name == "manifests-prepare":
            thread.join(timeout=10)


def test_prepare_logs_in_for_the_callers_person_and_asks_the_registry_nothing(
    registry: Registry,
) -> None:
    who = OnBehalf("U0ALICE", "my-app", "promote-prod")
    seen: list[OnBehalf | None] = []

    def login(image: ImageRef) -> tuple[str, str]:
        seen.append(current_on_behalf.get())
        return "AWS", "token"

    digests = RegistryManifests(login, registry.ca_bundle, 5, origin=lambda host: registry.origin)
    with on_behalf_of(who):
        digests.prepare(IMAGE)
    _join_prepare()
    assert seen == [who]  # the role session of the person the promotion is for
    assert registry.asked == []  # no connection left idle while a copy runs
    assert digests.digest(IMAGE) == DIGEST


def test_a_login_that_fails_while_preparing_is_reported_by_the_read(registry: Registry) -> None:
    def login(image: ImageRef) -> tuple[str, str]:
        raise CopyFailed("no ECR login for the registry: ExpiredTokenException")

    digests = RegistryManifests(login, registry.ca_bundle, 5, origin=lambda host: registry.origin)
    digests.prepare(IMAGE)  # on a thread: nothing raised there, nothing printed
    _join_prepare()
    with pytest.raises(CopyFailed, match="ExpiredTokenException"):
        digests.digest(IMAGE)
    assert registry.asked == []
