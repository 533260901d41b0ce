"""The OCI distribution API of a registry: read image configs, retag without pushing layers."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import requests

from bot.adapters.oci_media import MANIFEST_TYPES, MAX_MANIFEST, TooBig, bounded
from bot.domain.errors import StepError
from bot.domain.models import Step
from bot.domain.ports import RegistryCredentials, RepositoryInfo

TIMEOUT_S = 30
# A config blob is read up to the size its descriptor states, never more than MAX_CONFIG; a
# manifest up to MAX_MANIFEST (oci_media); both are checked against their digest.
MAX_CONFIG = 8 * 1024 * 1024
CHUNK = 64 * 1024
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class RegistryApi:
    """A small distribution-API client; ECR accepts its login token as HTTP Basic auth."""

    def __init__(self, ca_bundle: str | None = None) -> None:
        self._verify: str | bool = ca_bundle or True
        # One session: connections (and their TLS handshakes) are reused across lookups.
        self._http = requests.Session()

    def image_config(
        self, repository: RepositoryInfo, reference: str, creds: RegistryCredentials
    ) -> dict[str, Any]:
        """The image's config blob (labels live in `config.Labels`), read bounded and checked
        against its digest."""
        manifest = _json(self._manifest(repository, reference, creds)[0])
        if "manifests" in manifest:  # an index: labels are per platform; the first will do
            first = (manifest.get("manifests") or [{}])[0]
            manifest = _json(self._manifest(repository, str(first.get("digest")), creds)[0])
        descriptor = manifest.get("config") or {}
        digest, size = str(descriptor.get("digest")), descriptor.get("size")
        if not DIGEST.fullmatch(digest) or not isinstance(size, int) or size < 0:
            raise _refused("the manifest's config descriptor has no sha256 digest and size")
        if size > MAX_CONFIG:
            raise _refused(f"the image config is {size} bytes, over ecrbot's {MAX_CONFIG}")
        body = self._get_bounded(repository, f"blobs/{digest}", creds, {}, size)
        if len(body) != size:
            raise _refused(f"the image config is not the {size} bytes its descriptor states")
        _check_digest(body, digest, "image config")
        return _json(body)

    def ping(self, host: str, creds: RegistryCredentials) -> None:
        """`GET /v2/` with the login: what `docker login` checks."""
        response = self._http.get(
            f"https://{host}/v2/",
            auth=(creds.username, creds.password),
            verify=self._verify,
            timeout=TIMEOUT_S,
        )
        _raise_for(response, Step.AUTHENTICATE)

    def retag(
        self, repository: RepositoryInfo, existing: str, new: str, creds: RegistryCredentials
    ) -> None:
        """Point `new` at the manifest `existing` names: what `crane tag` does."""
        body, media_type = self._manifest(repository, existing, creds)
        response = self._http.put(
            self._url(repository, f"manifests/{new}"),
            data=body,
            headers={"Content-Type": media_type},
            auth=(creds.username, creds.password),
            verify=self._verify,
            timeout=TIMEOUT_S,
        )
        _raise_for(response, Step.PREFLIGHT)

    def _manifest(
        self, repository: RepositoryInfo, reference: str, creds: RegistryCredentials
    ) -> tuple[bytes, str]:
        """A manifest's bytes and media type; by digest, the bytes are checked against it."""
        headers: dict[str, str] = {}
        body = self._get_bounded(
            repository,
            f"manifests/{reference}",
            creds,
            {"Accept": MANIFEST_TYPES},
            MAX_MANIFEST,
            headers,
        )
        if reference.startswith("sha256:"):
            _check_digest(body, reference, "manifest")
        return body, headers.get("Content-Type", "")

    def _get_bounded(
        self,
        repository: RepositoryInfo,
        path: str,
        creds: RegistryCredentials,
        headers: dict[str, str],
        limit: int,
        answer_headers: dict[str, str] | None = None,
    ) -> bytes:
        """A GET's body, streamed and refused past `limit` bytes, so a registry can't make the
        bot hold a huge manifest or config in memory."""
        # requests drops the Authorization header when ECR redirects a blob to S3.
        with self._http.get(
            self._url(repository, path),
            headers=headers,
            auth=(creds.username, creds.password),
            verify=self._verify,
            timeout=TIMEOUT_S,
            stream=True,
        ) as response:
            _raise_for(response, Step.PREFLIGHT)
            declared = response.headers.get("Content-Length", "")
            try:
                body = bounded(declared, response.iter_content(CHUNK), limit)
            except TooBig as big:
                raise _refused(f"{path.split('/')[0]} {big}") from None
            if answer_headers is not None:
                answer_headers.update(response.headers)
            return body

    @staticmethod
    def _url(repository: RepositoryInfo, path: str) -> str:
        return f"https://{repository.host}/v2/{repository.name}/{path}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as error:
        raise _refused("the registry answered with something that is not JSON") from error
    if not isinstance(value, dict):
        raise _refused("the registry answered with JSON that is not an object")
    return value


def _check_digest(body: bytes, digest: str, what: str) -> None:
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise _refused(f"the {what} does not match its digest {digest[:19]}")


def _refused(reason: str) -> StepError:
    return StepError(Step.PREFLIGHT, f"registry answer refused: {reason}")


def _raise_for(response: requests.Response, step: Step) -> None:
    if response.ok:
        return
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(_docker_style(e) for e in errors)
    except ValueError:
        text = response.text[:300]
    raise StepError(step, f"registry answered {response.status_code}: {text}")


def _docker_style(error: dict[str, Any]) -> str:
    """Format a registry error the way the docker CLI prints it: `name unknown: ...`."""
    code = str(error.get("code", "")).lower().replace("_", " ")
    return f"{code}: {error.get('message', '')}"
