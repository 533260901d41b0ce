"""ECR through botocore: repositories, login tokens (cached per region) and image lookups."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws_hooks import OnAwsError, report_errors
from bot.adapters.ecr_features import (
    FEATURE_CONFIG,
    mutability,
    read_signing_status,
    read_templates,
)
from bot.adapters.registry_api import RegistryApi
from bot.domain.ecr_features import SIGNING_WAIT_S, SigningStatus, template_for
from bot.domain.errors import StepError
from bot.domain.models import RegistrySpec, Step
from bot.domain.ports import RegistryCredentials, RemoteImage, RepositoryInfo

log = logging.getLogger(__name__)

# Refresh this long before ECR says a token expires, so a push never starts on a dying token.
TOKEN_MARGIN = timedelta(minutes=30)
# ECR's tokens last 12 h. When the answer's expiry is already past (clock skew, or a stand-in
# such as moto that answers 2015), trust the token this long instead of refetching in a loop.
FALLBACK_TOKEN_TTL = timedelta(minutes=15)
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)


class ClientMaker(Protocol):
    """What makes the registry's clients: a boto3 Session, or a `BotocoreSession`."""

    def client(self, service_name: str, /, **kwargs: Any) -> Any: ...


class BotocoreSession:
    """boto3's `Session.client` without boto3: importing boto3 loads s3transfer, 0.2 s of
    `ecrbot push`'s 0.29 s of boto3 (python -X importtime), for clients botocore makes alone."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()

    def client(self, service_name: str, /, **kwargs: Any) -> Any:
        return self._session.create_client(service_name, **kwargs)


class EcrRegistry:
    """The Registry port on Amazon ECR; the registry host always comes from ECR's answers."""

    def __init__(
        self,
        registry: RegistrySpec,
        *,
        endpoint_url: str | None = None,
        ca_bundle: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        session: ClientMaker | None = None,
        on_error: OnAwsError | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._sleep = sleep
        maker: ClientMaker = session or BotocoreSession()
        self._ecr = maker.client(
            "ecr", region_name=registry.region, endpoint_url=endpoint_url, config=BOTO_CONFIG
        )
        # The newer APIs (signing, templates) on few retries: a stand-in lacking them answers
        # 500, and their answers only inform a push.
        self._features = maker.client(
            "ecr", region_name=registry.region, endpoint_url=endpoint_url, config=FEATURE_CONFIG
        )
        for client in (self._ecr, self._features):
            report_errors(client, on_error)
        self._api = RegistryApi(ca_bundle=ca_bundle)
        self._token: tuple[RegistryCredentials, datetime] | None = None
        self._token_lock = threading.Lock()

    def repository(self, name: str) -> RepositoryInfo:
        """The repository; one that does not exist but that a CREATE_ON_PUSH template will
        create on the push comes back with that `template` (its host from ECR's login)."""
        try:
            answer = self._ecr.describe_repositories(
                registryId=self._registry.account_id, repositoryNames=[name]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "RepositoryNotFoundException":
                pending = self._created_on_push(name)
                if pending is not None:
                    return pending
            raise StepError(Step.AUTHENTICATE, _client_error_text(error)) from error
        except BotoCoreError as error:
            raise StepError(Step.AUTHENTICATE, f"AWS unreachable: {error}") from error
        repo = answer["repositories"][0]
        tags = mutability(repo)
        return RepositoryInfo(
            name=repo["repositoryName"],
            uri=repo["repositoryUri"],
            immutable=tags.base_immutable,
            exclusions=tags.exclusions if tags.setting.endswith("_WITH_EXCLUSION") else (),
        )

    def _created_on_push(self, name: str) -> RepositoryInfo | None:
        try:
            templates = read_templates(self._features)
        except (ClientError, BotoCoreError):
            return None  # the missing repository is the error worth showing
        template = template_for(name, templates or ())
        if template is None or not template.creates_on_push:
            return None
        # ECR answers no repositoryUri for a repository that does not exist; its own login
        # endpoint names the registry host the push will go to.
        host = self.credentials().endpoint.removeprefix("https://").rstrip("/")
        tags = template.mutability
        return RepositoryInfo(
            name,
            f"{host}/{name}",
            tags.base_immutable,
            tags.exclusions if tags.setting.endswith("_WITH_EXCLUSION") else (),
            template=template,
        )

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        """A login for the registry, cached until shortly before it expires (`fresh`: a new one,
        when the registry has just said the cached one expired)."""
        with self._token_lock:
            now = self._clock()
            if not fresh and self._token is not None and now < self._token[1]:
                return self._token[0]
            answer = self._call(
                Step.AUTHENTICATE,
                self._ecr.get_authorization_token,
                registryIds=[self._registry.account_id],
            )
            data = answer["authorizationData"][0]
            user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
            expires_at = data.get("expiresAt")
            creds = RegistryCredentials(user, password, data["proxyEndpoint"], expires_at)
            self._token = (creds, _refresh_at(now, expires_at))
            return creds

    def find_image(
        self, repository: RepositoryInfo, tag: str, known: str | None = None
    ) -> RemoteImage | None:
        try:
            # ANY: an archived image still holds its tag (DescribeImages' default is ACTIVE).
            answer = self._ecr.describe_images(
                registryId=self._registry.account_id,
                repositoryName=repository.name,
                imageIds=[{"imageTag": tag}],
                filter={"imageStatus": "ANY"},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ImageNotFoundException":
                return None
            raise StepError(Step.PREFLIGHT, _client_error_text(error)) from error
        except BotoCoreError as error:
            raise StepError(Step.PREFLIGHT, f"AWS unreachable: {error}") from error
        details = answer.get("imageDetails") or []
        if not details:
            return None
        image = details[0]
        status = str(image.get("imageStatus") or "ACTIVE")
        if status != "ACTIVE":  # can't be pulled: its manifest answers 404, its labels unread
            return RemoteImage(
                digest=image["imageDigest"],
                tags=tuple(image.get("imageTags") or ()),
                size_bytes=int(image.get("imageSizeInBytes") or 0),
                status=status,
            )
        if image["imageDigest"] == known:  # the caller knows it: no manifest and config reads
            return RemoteImage(
                digest=image["imageDigest"],
                tags=tuple(image.get("imageTags") or ()),
                size_bytes=int(image.get("imageSizeInBytes") or 0),
            )
        # By digest: the manifest read is the one ECR described, checked against its digest.
        config = self._api.image_config(repository, image["imageDigest"], self.credentials())
        labels = (config.get("config") or {}).get("Labels") or {}
        return RemoteImage(
            digest=image["imageDigest"],
            tags=tuple(image.get("imageTags") or ()),
            size_bytes=int(image.get("imageSizeInBytes") or 0),
            revision=labels.get("org.opencontainers.image.revision"),
        )

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        try:
            answer = self._ecr.describe_images(
                registryId=self._registry.account_id,
                repositoryName=repository.name,
                imageIds=[{"imageDigest": digest}],
                filter={"imageStatus": "ANY"},  # ecrbot's own image may have been archived
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ImageNotFoundException":
                return None
            raise StepError(Step.PREFLIGHT, _client_error_text(error)) from error
        except BotoCoreError as error:
            raise StepError(Step.PREFLIGHT, f"AWS unreachable: {error}") from error
        for image in answer.get("imageDetails") or ():
            if image.get("imageDigest") == digest:
                return RemoteImage(
                    digest=digest,
                    tags=tuple(image.get("imageTags") or ()),
                    size_bytes=int(image.get("imageSizeInBytes") or 0),
                    status=str(image.get("imageStatus") or "ACTIVE"),
                )
        return None

    def warm(self, repository: RepositoryInfo) -> None:
        """Open the connection to the registry's API that a retag after the push will use
        (`GET /v2/` with the login, what `docker login` checks)."""
        self._api.ping(repository.host, self.credentials())

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        self._api.retag(repository, source, new_tag, self.credentials())

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        try:
            return read_signing_status(
                self._features,
                self._registry.account_id,
                repository.name,
                digest,
                wait_s=SIGNING_WAIT_S,
                sleep=self._sleep,
            )
        except ClientError as error:
            raise StepError(Step.VERIFY, _client_error_text(error)) from error
        except BotoCoreError as error:
            raise StepError(Step.VERIFY, f"AWS unreachable: {error}") from error

    def _call(self, step: Step, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except ClientError as error:
            raise StepError(step, _client_error_text(error)) from error
        except BotoCoreError as error:
            raise StepError(step, f"AWS unreachable: {error}") from error


def _refresh_at(now: datetime, expires_at: datetime | None) -> datetime:
    if expires_at is None or expires_at - TOKEN_MARGIN <= now:
        return now + FALLBACK_TOKEN_TTL
    return expires_at - TOKEN_MARGIN


def _client_error_text(error: ClientError) -> str:
    info = error.response.get("Error", {})
    return f"{info.get('Code', 'ClientError')}: {info.get('Message', '')}"
