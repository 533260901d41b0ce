"""A promotion's ECR API calls: which digest a tag names (`BatchGetImage`, not the registry),
and the registry logins a copy needs (`GetAuthorizationToken`), on one client per registry.

A promotion asks this before anything is copied: "which digest is 1.4.0 at the source?" and
"does the target hold it already?". Through the registry that is a login (GetAuthorizationToken)
and a `skopeo inspect` child process per read; through the API it is one call on a client made
once per registry, in the registry's role session for the person. `BatchGetImage` because it is
the permission a pull (and so `skopeo inspect`) already needs: a role that could promote before
needs nothing new. The check after a copy stays the copier's (the manifest the registry serves).

The logins are made on the same clients: no registry adapter (and its HTTP client) is built for
a promotion, and a copy's target login reuses the role session its digest read assumed.

`prefetch` starts reads on threads before they are asked for (`ecrbot promote` knows its source
and target before it has read its locks), so the two reads and the role assumption overlap; the
logins' `prefetch` does the same for the two logins a copy needs.
"""

from __future__ import annotations

import base64
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws_sessions import RoleAssumeFailed
from bot.domain.environments import NamedRegistry
from bot.domain.on_behalf import SessionValueRefused, current_on_behalf
from bot.domain.promotion import DIGEST, CopyFailed, ImageRef, RepositoryMissing

# Every manifest type ECR stores, so the stored manifest is named as it is (no conversion), an
# index (multi-arch) included.
MEDIA_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+json",
]

KEPT = 64  # logins kept: one per registry and person's job with a role
EcrClient = Callable[[NamedRegistry], Any]  # a botocore ECR client acting in that registry
TOKEN_MARGIN = timedelta(minutes=5)  # a login is made again this long before it expires
TOKEN_FALLBACK = timedelta(minutes=30)  # how long one is kept when ECR says no expiry


class EcrDigests:
    """`DigestReader` over ECR's `BatchGetImage` (by tag or by digest)."""

    def __init__(self, client: EcrClient) -> None:
        self._client = client
        self._pending: dict[ImageRef, Future[str | None]] = {}
        self._lock = threading.Lock()

    def prefetch(self, *images: ImageRef) -> None:
        """Start reading `images` now, each on its own thread (in the caller's context: the
        person the role session is for); `digest` of the same image takes the answer, once."""
        for image in images:
            future: Future[str | None] = Future()
            with self._lock:
                if image in self._pending:
                    continue
                self._pending[image] = future
            context = contextvars.copy_context()
            threading.Thread(
                target=context.run,
                args=(self._settle, image, future),
                name="ecr-digest",
                daemon=True,
            ).start()

    def digest(self, image: ImageRef) -> str | None:
        with self._lock:
            pending = self._pending.pop(image, None)
        if pending is not None:
            return pending.result()
        return self._read(image)

    def _settle(self, image: ImageRef, future: Future[str | None]) -> None:
        try:
            future.set_result(self._read(image))
        except BaseException as error:  # handed to whoever asks for this image
            future.set_exception(error)

    def _read(self, image: ImageRef) -> str | None:
        named = image.registry
        key = "imageDigest" if DIGEST.fullmatch(image.reference) else "imageTag"
        try:
            answer = self._client(named).batch_get_image(
                registryId=named.account_id,
                repositoryName=image.repository,
                imageIds=[{key: image.reference}],
                acceptedMediaTypes=MEDIA_TYPES,
            )
        except ClientError as error:
            info = error.response.get("Error", {})
            if info.get("Code") == "RepositoryNotFoundException":
                raise RepositoryMissing(
                    f"The registry {named.name} ({named.host}) has no repository "
                    f"{image.repository}."
                ) from None
            raise CopyFailed(
                f"ECR refused to read {image}: {info.get('Code')}: {info.get('Message', '')}"
            ) from None
        except BotoCoreError as error:
            raise CopyFailed(f"ECR unreachable reading {image}: {error}") from None
        except (RoleAssumeFailed, SessionValueRefused) as error:
            raise CopyFailed(f"can't read {image} in ECR: {error}") from None
        for found in answer.get("images", []):
            digest = found.get("imageId", {}).get("imageDigest")
            if digest:
                return str(digest)
        for failure in answer.get("failures", []):
            if failure.get("failureCode") not in ("ImageNotFound", "ImageTagDoesNotMatchDigest"):
                raise CopyFailed(
                    f"ECR could not read {image}: {failure.get('failureCode')}: "
                    f"{failure.get('failureReason', '')}"
                )
        return None


class EcrLogins:
    """A registry login (user, password) per registry and person, from `GetAuthorizationToken`
    on the registry's client, kept until shortly before it expires."""

    def __init__(
        self, client: EcrClient, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._clock = clock
        self._tokens: dict[tuple[object, ...], tuple[tuple[str, str], datetime]] = {}
        self._pending: dict[tuple[object, ...], Future[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def prefetch(self, *registries: NamedRegistry) -> None:
        """Start the logins of `registries` now, each on its own thread (in the caller's context:
        the person a role session is for), beside the digest reads: a copy's skopeo then starts
        with both in hand, not after two calls made one after the other. The next login to the
        same registry takes the answer (or its error), once."""
        for named in registries:
            key = _key(named)
            future: Future[tuple[str, str]] = Future()
            with self._lock:
                if key in self._pending:
                    continue
                self._pending[key] = future
            context = contextvars.copy_context()
            threading.Thread(
                target=context.run,
                args=(self._settle, named, future),
                name="ecr-login",
                daemon=True,
            ).start()

    def __call__(self, image: ImageRef) -> tuple[str, str]:
        named = image.registry
        with self._lock:
            pending = self._pending.pop(_key(named), None)
        if pending is not None:
            return pending.result()
        return self._login(named)

    def _settle(self, named: NamedRegistry, future: Future[tuple[str, str]]) -> None:
        try:
            future.set_result(self._login(named))
        except BaseException as error:  # handed to the copy that asks for this login
            future.set_exception(error)

    def _login(self, named: NamedRegistry) -> tuple[str, str]:
        key = _key(named)
        now = self._clock()
        with self._lock:
            kept = self._tokens.get(key)
        if kept is not None and now < kept[1]:
            return kept[0]
        try:
            answer = self._client(named).get_authorization_token(registryIds=[named.account_id])
        except ClientError as error:
            info = error.response.get("Error", {})
            said = f"{info.get('Code', 'ClientError')}: {info.get('Message', '')}"
            raise CopyFailed(f"no ECR login for {named.host}: {said}") from None
        except (BotoCoreError, RoleAssumeFailed, SessionValueRefused) as error:
            raise CopyFailed(f"no ECR login for {named.host}: {error}") from None
        data = answer["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires = data.get("expiresAt")
        until = expires - TOKEN_MARGIN if isinstance(expires, datetime) else now + TOKEN_FALLBACK
        with self._lock:
            if len(self._tokens) >= KEPT:
                self._tokens.clear()  # bounded; a login is one call to make again
            self._tokens[key] = ((user, password), max(until, now))
        return user, password


def _key(named: NamedRegistry) -> tuple[object, ...]:
    """A login's registry and, for a role, the person its session is for."""
    who = current_on_behalf.get() if named.role else None
    return (named.account_id, named.region, named.role, who)
