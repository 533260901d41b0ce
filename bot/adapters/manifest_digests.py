"""Which manifest a tag names, read back through the registry's own API: a promotion's check
after its copy. The digest is the sha256 of the manifest's bytes exactly as the registry serves
them (the definition, and right for indexes too), read in this process over one kept-alive
connection per registry: a `skopeo inspect --raw` child per tag paid a Go start, a TLS
handshake and an auth file each (issue #16's copy time).

urllib3, not requests: botocore has loaded it already, so the check imports nothing new on
`ecrbot promote`'s path."""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Callable
from urllib.parse import quote

import urllib3

from bot.adapters.oci_media import MANIFEST_TYPES, MAX_MANIFEST
from bot.domain.promotion import CopyFailed, ImageRef

CHUNK = 64 * 1024
SAID_SHOWN = 300  # characters of a registry's error kept in an exception
TIMEOUT_S = 30.0

Login = Callable[[ImageRef], tuple[str, str]]  # (username, password) for the image's registry


def https(host: str) -> str:
    """Where a registry host answers: ECR's hosts serve the API over TLS on the default port."""
    return f"https://{host}"


class ManifestDigests:
    """`digest(image)`: the sha256 of the manifest `image` names, None when there is none."""

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

    def _http(self) -> urllib3.PoolManager:
        """Made on the first read: a promotion already there reads nothing back, and loading
        the system's CAs is not free."""
        with self._lock:
            if self._pool is None:
                # The system's CAs, and ECRBOT_REGISTRY_CA_BUNDLE beside them (as for skopeo).
                context = ssl.create_default_context()
                if self._ca_bundle:
                    try:
                        context.load_verify_locations(self._ca_bundle)
                    except (OSError, ssl.SSLError) as error:
                        raise CopyFailed(
                            f"ECRBOT_REGISTRY_CA_BUNDLE {self._ca_bundle} can't be used: "
                            f"{type(error).__name__}"
                        ) from None
                self._pool = urllib3.PoolManager(
                    ssl_context=context,
                    retries=False,
                    timeout=urllib3.Timeout(total=self._timeout_s),
                )
            return self._pool

    def digest(self, image: ImageRef) -> str | None:
        username, password = self._login(image)
        headers = urllib3.make_headers(basic_auth=f"{username}:{password}")
        headers["Accept"] = MANIFEST_TYPES
        url = (
            f"{self._origin(image.registry.host)}/v2/{quote(image.repository)}"
            f"/manifests/{quote(image.reference, safe=':')}"
        )
        try:
            response = self._http().request(
                "GET", url, headers=headers, redirect=False, preload_content=False
            )
        except urllib3.exceptions.HTTPError as error:
            raise CopyFailed(f"reading {image} back failed: {type(error).__name__}") from None
        try:
            if response.status == 404:  # manifest unknown, name unknown: no such image
                return None
            if response.status != 200:  # a redirect too: nobody else answers for the registry
                said = response.read(SAID_SHOWN).decode(errors="replace").strip()
                raise CopyFailed(
                    f"reading {image} back: the registry answered {response.status}: {said}"
                )
            return "sha256:" + hashlib.sha256(_bounded(response, image)).hexdigest()
        finally:
            response.release_conn()


def _bounded(response: urllib3.BaseHTTPResponse, image: ImageRef) -> bytes:
    """The body, refused past MAX_MANIFEST: a registry can't make the bot hold a huge answer."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_MANIFEST:
        raise CopyFailed(f"{image}: a manifest of {declared} bytes, over {MAX_MANIFEST}")
    body = bytearray()
    for chunk in response.stream(CHUNK):
        body += chunk
        if len(body) > MAX_MANIFEST:
            raise CopyFailed(f"{image}: a manifest over {MAX_MANIFEST} bytes")
    return bytes(body)
