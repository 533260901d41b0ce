"""The Docker engine through the Docker SDK's low-level streaming API."""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import DockerException, NotFound
from docker.types.daemon import CancellableStream
from urllib3.exceptions import ProtocolError

from bot.adapters.buildkit import BuildKitCli
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, StepError, UsageError
from bot.domain.models import LayerProgress, Step
from bot.domain.ports import BuildSpec, BuiltImage, PushedImage, RegistryCredentials

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20  # build log lines kept for a failure's explanation
MAX_LINE = 2000  # characters kept of one log line
PING_TIMEOUT_S = 5
# What the docker CLI says when its connection to the engine ends mid-build.
_CONNECTION_LOST = re.compile(
    r"server did not provide an image ID|error reading from server|unexpected EOF"
    r"|connection reset by peer|broken pipe",
    re.IGNORECASE,
)
# A classic step that is not `FROM` (BuildKit counts the Dockerfile's other steps too).
_CLASSIC_STEP = re.compile(r"^Step \d+/\d+ : (?!FROM\b)", re.IGNORECASE)


class DockerEngine:
    """Builds and pushes with docker-py; a fresh client per operation so cancel can close it.
    BuildKit builds go through the docker CLI (`buildkit.py`); docker-py has no BuildKit.

    `timeout` bounds the wait between two chunks of a push stream (builds have none).
    """

    def __init__(
        self,
        base_url: str | None = None,
        timeout: int = 600,
        docker_cli: str | None = None,
        secrets_dir: Path | None = None,
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._buildkit = BuildKitCli(docker_cli, base_url, secrets_dir)
        # The engine's API version, learnt by the first client: docker-py otherwise asks for it
        # (GET /version) with every client it makes, one more round trip per operation.
        self._api_version: str | None = None

    def warm(self) -> None:
        """Learn what the first build and push need (the docker CLI's probe, the engine's API
        version) ahead of them; best effort: an operation meets and explains any problem."""
        try:
            self._buildkit.cli()
            with self._client():
                pass
        except Exception:  # said by the operation that needs it
            log.debug("warming the engine adapter failed", exc_info=True)

    def ping(self) -> None:
        with self._client() as client:
            client.ping()

    def build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage:
        if spec.builder == "classic":
            return self._classic_build(spec, on_line, cancel)
        if len(spec.platforms) > 1:
            self._require_multi_platform(spec.platforms)
        try:
            return self._buildkit.build(spec, on_line, cancel)
        except StepError as error:
            # A CLI whose engine went away mid-build says something else ("server did not
            # provide an image ID"): name the cause when the symptom or a failed ping shows it.
            if _CONNECTION_LOST.search(error.raw) or not self._reachable():
                raw = f"Docker engine unreachable during the build: {error.raw}"
                raise StepError(Step.BUILD, raw, error.log_tail) from error
            raise

    def _reachable(self) -> bool:
        try:
            if self._base_url:
                client = docker.APIClient(base_url=self._base_url, timeout=PING_TIMEOUT_S)
            else:
                client = docker.APIClient(timeout=PING_TIMEOUT_S, **_env_kwargs())
            with client:
                client.ping()
            return True
        except (DockerException, requests.exceptions.RequestException, OSError):
            return False

    def fetch_cache(
        self, reference: str, credentials: RegistryCredentials, cancel: CancelToken
    ) -> bool:
        # The engine's own pull, not BuildKit's registry import: it honours the engine's
        # registry settings (certs.d, mirrors) and needs no credentials file for the CLI.
        # BuildKit then finds the image locally and reads its inline cache metadata.
        with self._client() as client:
            try:
                client.inspect_image(reference)
                return False
            except NotFound:
                pass
            except DockerException as error:
                raise StepError(Step.BUILD, f"Docker engine unreachable: {error}") from error
            auth = {"username": credentials.username, "password": credentials.password}
            chunks = self._stream(
                client,
                cancel,
                Step.BUILD,
                lambda: client.pull(reference, stream=True, decode=True, auth_config=auth),
            )
            for chunk in chunks:
                if "errorDetail" in chunk or "error" in chunk:
                    raise StepError(Step.BUILD, _error_text(chunk))
        return True

    def _require_multi_platform(self, platforms: tuple[str, ...]) -> None:
        """Several platforms in one image need an image store that holds image indexes."""
        with self._client() as client:
            try:
                status = dict(client.info().get("DriverStatus") or [])
            except DockerException as error:
                raise StepError(Step.BUILD, f"Docker engine unreachable: {error}") from error
        missing = []
        if "snapshotter" not in str(status.get("driver-type", "")):
            missing.append(
                "the engine's containerd image store (Docker 24+, `containerd-snapshotter`)"
            )
        if not self._buildkit.cli().buildx:
            missing.append("the buildx plugin for the docker CLI")
        if missing:
            raise UsageError(
                f"Building for {len(platforms)} platforms ({', '.join(platforms)}) at once needs "
                f"{' and '.join(missing)}; this engine can only load one platform's image.",
                "Build one platform per app (e.g. `platforms: [linux/arm64]`, on a worker queue "
                "of that architecture), or give the bot an engine that has them.",
            )

    def _classic_build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage:
        image_id = None
        steps = cached = 0
        with self._client() as client:
            chunks = self._stream(
                client,
                cancel,
                Step.BUILD,
                lambda: client.build(
                    path=str(spec.context),
                    dockerfile=spec.dockerfile,
                    tag=spec.tag,
                    buildargs=spec.buildargs,
                    labels=spec.labels,
                    target=spec.target,
                    platform=spec.platforms[0] if spec.platforms else None,
                    rm=True,
                    forcerm=True,
                    decode=True,
                ),
            )
            # Only the tail is kept: a build may print millions of lines.
            lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
            for chunk in chunks:
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        line = line[:MAX_LINE]
                        lines.append(line)
                        on_line(line)
                        if _CLASSIC_STEP.match(line):
                            steps += 1
                        cached += line.strip() == "---> Using cache"
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = str(chunk["aux"]["ID"])
                if "errorDetail" in chunk or "error" in chunk:
                    lines.append(_error_text(chunk)[:MAX_LINE])
                    raise StepError(Step.BUILD, lines[-1], tuple(lines))
        if image_id is None:
            raise StepError(Step.BUILD, "the build stream ended without an image id")
        return BuiltImage(image_id, steps, cached)

    def tag(self, image_id: str, repository_uri: str, tag: str) -> None:
        with self._client() as client:
            client.tag(image_id, repository_uri, tag, force=True)

    def push(
        self,
        repository_uri: str,
        tag: str,
        credentials: RegistryCredentials,
        on_layers: Callable[[tuple[LayerProgress, ...]], None],
        cancel: CancelToken,
    ) -> PushedImage:
        # A fresh auth_config per push: client.login() caches by username, and ECR's is always AWS.
        auth = {"username": credentials.username, "password": credentials.password}
        layers: dict[str, LayerProgress] = {}
        digest, size = None, 0
        with self._client() as client:
            chunks = self._stream(
                client,
                cancel,
                Step.PUSH,
                lambda: client.push(
                    repository_uri, tag=tag, stream=True, decode=True, auth_config=auth
                ),
            )
            for chunk in chunks:
                if "errorDetail" in chunk or "error" in chunk:
                    raise StepError(Step.PUSH, _error_text(chunk))
                aux = chunk.get("aux") or {}
                if "Digest" in aux:
                    digest, size = str(aux["Digest"]), int(aux.get("Size", 0))
                layer_id = chunk.get("id")
                if layer_id and chunk.get("status") and layer_id != tag:
                    detail = chunk.get("progressDetail") or {}
                    layers[layer_id] = LayerProgress(
                        layer_id,
                        str(chunk["status"]),
                        int(detail.get("current", 0) or 0),
                        int(detail.get("total", 0) or 0),
                    )
                    on_layers(tuple(layers.values()))
        if digest is None:
            raise StepError(Step.PUSH, "the push stream ended without a digest")
        return PushedImage(digest=digest, size_bytes=size)

    def _client(self) -> docker.APIClient:
        version = self._api_version or "auto"
        try:
            if self._base_url:
                client = docker.APIClient(
                    base_url=self._base_url, timeout=self._timeout, version=version
                )
            else:
                client = docker.APIClient(timeout=self._timeout, version=version, **_env_kwargs())
        except DockerException as error:
            raise StepError(Step.BUILD, f"Docker engine unreachable: {error}") from error
        self._api_version = client.api_version
        return client

    def _stream(
        self,
        client: docker.APIClient,
        cancel: CancelToken,
        step: Step,
        start: Callable[[], Iterator[dict[str, Any]]],
    ) -> Iterator[dict[str, Any]]:
        """Yield decoded chunks; a cancel shuts the HTTP stream so the engine stops the work."""
        unregister: Callable[[], None] = lambda: None  # noqa: E731

        def on_response(response: requests.Response, *_: Any, **__: Any) -> requests.Response:
            nonlocal unregister
            if response.headers.get("Content-Type", "").startswith("application/json"):
                unregister = cancel.on_cancel(lambda: _abort(response))
            return response

        # requests' session hooks see the streaming response as soon as its headers arrive.
        client.hooks["response"].append(on_response)
        try:
            cancel.raise_if_cancelled()
            yield from start()
        except (requests.exceptions.RequestException, DockerException, ProtocolError) as error:
            # A refused connection, or one cut mid-stream (ChunkedEncodingError: the engine
            # restarted or a proxy in between went away).
            if cancel.cancelled:
                raise Cancelled from error
            raise StepError(step, f"Docker engine unreachable: {type(error).__name__}") from error
        except (ValueError, OSError) as error:
            if cancel.cancelled:
                raise Cancelled from error
            raise
        finally:
            unregister()
        cancel.raise_if_cancelled()


def _abort(response: requests.Response) -> None:
    try:
        CancellableStream(iter(()), response).close()
    except Exception:  # the stream may already be gone; cancel must never raise
        log.debug("closing the engine stream failed", exc_info=True)


def _error_text(chunk: dict[str, Any]) -> str:
    detail = chunk.get("errorDetail") or {}
    return str(detail.get("message") or chunk.get("error") or "unknown engine error")


def _env_kwargs() -> dict[str, Any]:
    # docker.utils.kwargs_from_env honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
    from docker.utils import kwargs_from_env

    return dict(kwargs_from_env())
