"""A promotion's manifest work through the registry's own API, in this process: which manifest a
tag names (the check after a copy), and a second tag pointed at a manifest the repository
already holds. One kept-alive TLS connection per registry: a skopeo child per tag paid a Go
start, a TLS handshake and an auth file each (issue #16's copy time).

A digest is the sha256 of the manifest's bytes exactly as the registry serves them: the
definition, and right for indexes too. urllib3, not requests: botocore has loaded it already,
so `ecrbot promote` imports nothing new for this.

Checked against the vendors' current texts: ECR's registry takes the GetAuthorizationToken
password with the user `AWS`, valid 12 hours
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html), which the
distribution API accepts as HTTP Basic auth (as `RegistryApi` does); a manifest is put with
`PUT /v2/<name>/manifests/<reference>` and its `Content-Type`, answered `201 Created`
(https://github.com/opencontainers/distribution-spec/blob/main/spec.md, "Pushing Manifests")."""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import ssl
import threading
from collections.abc import Callable
from urllib.parse import quote

import urllib3

from bot.adapters.oci_media import MANIFEST_TYPES, MAX_MANIFEST, TooBig, bounded
from bot.domain.promotion import CopyFailed, ImageRef

CHUNK = 64 * 1024
SAID_SHOWN = 300  # characters of a registry's error kept in an exception
TIMEOUT_S = 30.0
KNOWN_TYPES = frozenset(MANIFEST_TYPES.split(", "))

Login = Callable[[ImageRef], tuple[str, str]]  # (username, password) for the image's registry


def https(host: str) -> str:
    """Where a registry host answers: ECR's hosts serve the API over TLS on the default port."""
    return f"https://{host}"


class RegistryManifests:
    """`digest(image)`: the sha256 of the manifest `image` names, None when there is none.
    `tag(image, digest)`: `image`'s tag names the manifest `digest`, which its repository holds."""

    def __init__(
        self,
        login: Login,
        ca_bundle: str | None = None,
        timeout_s: float = TIMEOUT_S,
        origin: Callable[[str], str] = https,
    ) -> None:
        self._login = login
        self._origin = origin
        self._ca_bundle = ca_bundle
        self._timeout_s = timeout_s
        self._pool: urllib3.PoolManager | None = None
        self._lock = threading.Lock()

    def prepare(self, image: ImageRef) -> None:
        """Make on a thread, while something else runs (a copy), what a read of `image` will
        need: the TLS context (the system's CAs load in about 0.04 s) and the registry's login
        (in the caller's context: the person a role session is for). No connection is opened:
        one left idle for the length of a copy may be closed by then."""
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=(self._prepare, image), name="manifests-prepare", daemon=True
        ).start()

    def _prepare(self, image: ImageRef) -> None:
        try:
            self._http()
            self._login(image)
        except Exception:  # the read itself meets it again, in the caller, and reports it
            return

    def digest(self, image: ImageRef) -> str | None:
        read = self._read(image)
        return None if read is None else "sha256:" + hashlib.sha256(read[0]).hexdigest()

    def tag(self, image: ImageRef, digest: str) -> None:
        """What `crane tag` does: the manifest's bytes, read by digest and checked against it,
        put under `image`'s tag. No blob moves, and the digest can't change: the bytes are the
        same. (An immutable tag already naming another image is refused by the registry.)"""
        read = self._read(dataclasses.replace(image, reference=digest))
        if read is None:
            raise CopyFailed(f"{image.registry.host}/{image.repository} holds no {digest}")
        body, media_type = read
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise CopyFailed(f"{image.registry.host}/{image.repository} served another {digest}")
        response = self._request("PUT", image, {"Content-Type": media_type}, body)
        try:
            if response.status not in (200, 201):
                raise _refused(image, "tagging", response)
        finally:
            response.release_conn()

    def _read(self, image: ImageRef) -> tuple[bytes, str] | None:
        """The manifest's bytes and media type; None when the registry has no such image."""
        response = self._request("GET", image, {"Accept": MANIFEST_TYPES})
        try:
            if response.status == 404:  # manifest unknown, name unknown: no such image
                return None
            if response.status != 200:  # a redirect too: nobody else answers for the registry
                raise _refused(image, "reading", response)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            if media_type not in KNOWN_TYPES:
                raise CopyFailed(f"{image}: a manifest of type {media_type[:100]!r}")
            return _bounded(response, image), media_type
        finally:
            response.release_conn()

    def _request(
        self, method: str, image: ImageRef, headers: dict[str, str], body: bytes | None = None
    ) -> urllib3.BaseHTTPResponse:
        username, password = self._login(image)
        headers = {**urllib3.make_headers(basic_auth=f"{username}:{password}"), **headers}
        url = (
            f"{self._origin(image.registry.host)}/v2/{quote(image.repository)}"
            f"/manifests/{quote(image.reference, safe=':')}"
        )
        try:
            return self._http().request(
                method, url, headers=headers, body=body, redirect=False, preload_content=False
            )
        except urllib3.exceptions.HTTPError as error:
            raise CopyFailed(f"{method} {image} failed: {type(error).__name__}") from None

    def _http(self) -> urllib3.PoolManager:
        """Made on the first call: a promotion already there reads nothing back, and loading
        the system's CAs is not free."""
        with self._lock:
            if self._pool is None:
                self._pool = urllib3.PoolManager(
                    ssl_context=self._context(),
                    retries=False,
                    timeout=urllib3.Timeout(total=self._timeout_s),
                )
            return self._pool

    def _context(self) -> ssl.SSLContext:
        """The system's CAs, and ECRBOT_REGISTRY_CA_BUNDLE beside them (as for skopeo)."""
        context = ssl.create_default_context()
        if self._ca_bundle:
            try:
                context.load_verify_locations(self._ca_bundle)
            except (OSError, ssl.SSLError) as error:
                raise CopyFailed(
                    f"ECRBOT_REGISTRY_CA_BUNDLE {self._ca_bundle} can't be used: "
                    f"{type(error).__name__}"
                ) from None
        return context


def _refused(image: ImageRef, doing: str, response: urllib3.BaseHTTPResponse) -> CopyFailed:
    said = response.read(SAID_SHOWN).decode(errors="replace").strip()
    return CopyFailed(f"{doing} {image}: the registry answered {response.status}: {said}")


def _bounded(response: urllib3.BaseHTTPResponse, image: ImageRef) -> bytes:
    try:
        declared = response.headers.get("Content-Length", "")
        return bounded(declared, response.stream(CHUNK), MAX_MANIFEST)
    except TooBig as big:
        raise CopyFailed(f"{image}: a manifest {big}") from None
