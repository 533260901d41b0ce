"""The OCI distribution API of a registry: read image configs, retag without pushing layers."""

from __future__ import annotations

import json
from typing import Any

import requests

from bot.domain.errors import StepError
from bot.domain.models import Step
from bot.domain.ports import RegistryCredentials, RepositoryInfo

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
TIMEOUT_S = 30


class RegistryApi:
    """A small distribution-API client; ECR accepts its login token as HTTP Basic auth."""

    def __init__(self, ca_bundle: str | None = None) -> None:
        self._verify: str | bool = ca_bundle or True
        # One session: connections (and their TLS handshakes) are reused across lookups.
        self._http = requests.Session()

    def image_config(
        self, repository: RepositoryInfo, reference: str, creds: RegistryCredentials
    ) -> dict[str, Any]:
        """The image's config blob (labels live in `config.Labels`)."""
        body, _ = self._manifest(repository, reference, creds)
        manifest = json.loads(body)
        if "manifests" in manifest:  # an index: labels are per platform; the first will do
            body, _ = self._manifest(repository, manifest["manifests"][0]["digest"], creds)
            manifest = json.loads(body)
        digest = manifest["config"]["digest"]
        response = self._get(repository, f"blobs/{digest}", creds, {})
        config: dict[str, Any] = response.json()
        return config

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
        response = self._get(
            repository, f"manifests/{reference}", creds, {"Accept": MANIFEST_TYPES}
        )
        return response.content, response.headers.get("Content-Type", "")

    def _get(
        self,
        repository: RepositoryInfo,
        path: str,
        creds: RegistryCredentials,
        headers: dict[str, str],
    ) -> requests.Response:
        # requests drops the Authorization header when ECR redirects a blob to S3.
        response = self._http.get(
            self._url(repository, path),
            headers=headers,
            auth=(creds.username, creds.password),
            verify=self._verify,
            timeout=TIMEOUT_S,
        )
        _raise_for(response, Step.PREFLIGHT)
        return response

    @staticmethod
    def _url(repository: RepositoryInfo, path: str) -> str:
        return f"https://{repository.host}/v2/{repository.name}/{path}"


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
