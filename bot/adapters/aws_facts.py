"""Diagnose's snapshot of AWS: fetched concurrently, each AWS call at most once, calls counted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from bot.adapters import botocore_clients
from bot.adapters.aws_hooks import OnAwsError, report_errors
from bot.adapters.aws_org import ScpReader
from bot.adapters.ecr_features import (
    FEATURE_CONFIG,
    mutability,
    read_signing_rules,
    read_templates,
)
from bot.adapters.iam_facts import IamFacts, Unreachable, or_none, read_policy
from bot.domain.checks.model import (
    Fact,
    Image,
    Organization,
    Repository,
)
from bot.domain.ecr_features import CreationTemplate, SigningRule
from bot.domain.iam.evaluation import OrgLevel
from bot.domain.iam.policy import Policy, Unreadable
from bot.domain.ports import Registry, RepositoryInfo

T = TypeVar("T")
CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
# IAM and Organizations are global: their endpoints live in us-east-1.
_GLOBAL = {"iam": "us-east-1", "organizations": "us-east-1"}


class AwsFacts(IamFacts):
    """Read-only AWS lookups for diagnose, memoized per instance (one instance per diagnose).

    `calls` counts the AWS API calls made here; image lookups and tokens go through the bot's
    Registry adapter, which caches its login token. Clients are created on first use, from one
    session: a client costs 5-35 ms of CPU, and a diagnose of one app needs three or four.
    """

    def __init__(
        self,
        region: str,
        account_id: str,
        *,
        endpoint_url: str | None = None,
        ca_bundle: str | None = None,
        session: Any = None,  # a boto3 Session (a role's, or a test's); None: botocore's own
        pool: Executor,
        fanout: Executor | None = None,
        leaves: Executor | None = None,
        registry: Callable[[], Registry] | None = None,
        on_error: OnAwsError | None = None,
    ) -> None:
        self.region, self.account_id = region, account_id
        self._session = session
        self._core: Any = None  # botocore's session, made on first use without `session`
        self._endpoint = endpoint_url
        self._ca_bundle = ca_bundle
        self._registry = registry
        self._on_error = on_error
        self._pool = pool  # the process's `aws_calls` pool (bot.runtime.executors), shared
        self._fanout = fanout  # `aws_fanout`: independent reads inside one lookup (IamFacts._each)
        self._leaves = leaves  # `aws_leaves`: independent reads inside one of those
        self._memo: dict[tuple[Any, ...], Future[Any]] = {}
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._client_lock = threading.Lock()  # a boto3 session is not thread-safe
        self.calls: dict[str, int] = {}

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    # -- facts (each returns a Future so callers can start many at once) ------------------------

    def caller(self) -> Future[Fact[str]]:
        def who() -> str:
            sts = self._client("sts")
            return str(sts.get_caller_identity()["Arn"])

        return self._fact(("caller",), who)

    def repository(self, name: str) -> Future[Fact[Repository | None]]:
        return self._fact(("repository", self.region, name), lambda: self._repository(name))

    def repository_policy(self, name: str) -> Future[Fact[Policy | Unreadable | None]]:
        """The repository policy (None: the repository has none, or does not exist)."""
        return self._fact(("repository_policy", name), lambda: self._repository_policy(name))

    def elsewhere(self, name: str, regions: list[str]) -> Future[Fact[tuple[str, ...]]]:
        def probe() -> tuple[str, ...]:
            found = []
            for region in sorted(set(regions) - {self.region}):
                client = self._client("ecr", region)
                if _exists(partial(client.describe_repositories, repositoryNames=[name])):
                    found.append(region)
            return tuple(found)

        return self._fact(("elsewhere", name, tuple(sorted(regions))), probe)

    def organization(self) -> Future[Fact[Organization | None]]:
        """The account's organization (None: it is in none); members may read this."""
        return self._fact(("organization",), self._organization)

    def scps(self, account: str) -> Future[Fact[tuple[OrgLevel, ...] | None]]:
        """The SCPs from the root down to `account`; None when no SCP restricts it."""
        return self._fact(("scps", account), lambda: self._scps(account))

    def image(self, repository: str, tag: str) -> Future[Fact[Image | None]]:
        return self._fact(("image", repository, tag), lambda: self._image(repository, tag))

    def token(self) -> Future[Fact[str]]:
        registry = self._need_registry()
        return self._fact(("token",), lambda: registry().credentials().endpoint)

    def login(self) -> Future[Fact[str]]:
        """The registry answers `GET /v2/` with the ECR token as Basic auth."""
        registry = self._need_registry()

        def check() -> str:
            from bot.adapters.registry_api import RegistryApi  # requests: only for this check

            creds = registry().credentials()
            host = creds.endpoint.removeprefix("https://").rstrip("/")
            RegistryApi(self._ca_bundle).ping(host, creds)
            return host

        return self._fact(("login",), check)

    def creation_templates(self) -> Future[Fact[tuple[CreationTemplate, ...] | None]]:
        """Repository creation templates (ecr:DescribeRepositoryCreationTemplates)."""
        return self._fact(("templates",), lambda: read_templates(self._client("ecr-features")))

    def signing_rules(self) -> Future[Fact[tuple[SigningRule, ...] | None]]:
        """Managed signing's rules (ecr:GetSigningConfiguration)."""
        return self._fact(("signing",), lambda: read_signing_rules(self._client("ecr-features")))

    # -- the lookups ------------------------------------------------------------------------

    def _repository(self, name: str) -> Repository | None:
        ecr = self._client("ecr")
        answer = or_none(
            lambda: ecr.describe_repositories(registryId=self.account_id, repositoryNames=[name]),
            "RepositoryNotFoundException",
        )
        if answer is None:
            return None
        repo = answer["repositories"][0]
        tags = mutability(repo)
        return Repository(
            repo["repositoryName"],
            repo["repositoryUri"],
            repo["repositoryArn"],
            tags.base_immutable,
            tags.exclusions if tags.setting.endswith("_WITH_EXCLUSION") else (),
        )

    def _repository_policy(self, name: str) -> Policy | Unreadable | None:
        ecr = self._client("ecr")
        answer = or_none(
            lambda: ecr.get_repository_policy(registryId=self.account_id, repositoryName=name),
            "RepositoryPolicyNotFoundException",
            "RepositoryNotFoundException",  # registry.repository says so
        )
        if answer is None:
            return None
        return read_policy("the repository policy", answer.get("policyText") or "")

    def _organization(self) -> Organization | None:
        organizations = self._client("organizations")
        answer = or_none(
            organizations.describe_organization,
            "AWSOrganizationsNotInUseException",
        )
        if answer is None:
            return None
        org = answer["Organization"]
        return Organization(org["Id"], org.get("MasterAccountId", ""))

    def _scps(self, account: str) -> tuple[OrgLevel, ...] | None:
        org = self._fact(("organization",), self._organization, inline=True).result()
        if not org.ok:
            raise _Failed(f"the organization could not be read ({org.error})")
        if org.value is None or org.value.management_account == account:
            return None  # SCPs don't restrict the management account's principals
        return ScpReader(self._client).read(account)

    def _image(self, repository: str, tag: str) -> Image | None:
        repo = (
            self._fact(
                ("repository", self.region, repository),
                lambda: self._repository(repository),
                inline=True,
            )
            .result()
            .value
        )
        if repo is None or self._registry is None:
            return None
        found = self._registry().find_image(
            RepositoryInfo(repo.name, repo.uri, repo.immutable, repo.exclusions), tag
        )
        return Image(found.digest, found.tags, found.revision, found.status) if found else None

    # -- plumbing ------------------------------------------------------------------------------

    def _need_registry(self) -> Callable[[], Registry]:
        assert self._registry is not None, "the platform checks need the Registry adapter"
        return self._registry

    def _fact(
        self, key: tuple[Any, ...], fetch: Callable[[], T], inline: bool = False
    ) -> Future[Fact[T]]:
        """The memoized fact for `key`; started on the pool, or run here when `inline`.

        Lookups made from inside another lookup run inline: a pool task that waited on tasks
        queued behind it could deadlock a busy pool.
        """
        with self._lock:
            future = self._memo.get(key)
            if future is not None:
                return future
            if not inline:
                future = self._pool.submit(_as_fact, fetch)
                self._memo[key] = future
                return future
            future = Future()
            self._memo[key] = future
        try:
            future.set_result(_as_fact(fetch))
        except BaseException as error:  # not an AWS answer's: whoever waits on it hears it too
            future.set_exception(error)
            raise
        return future

    def _client(self, service: str, region: str | None = None) -> Any:
        where = (service, region or _GLOBAL.get(service, self.region))
        with self._client_lock:
            client = self._clients.get(where)
            if client is None:
                # "ecr-features": ECR's newer APIs on few retries (a stand-in answers them 500).
                real, config = (
                    ("ecr", FEATURE_CONFIG) if service == "ecr-features" else (service, CONFIG)
                )
                args = {"region_name": where[1], "endpoint_url": self._endpoint, "config": config}
                if self._session is not None:  # a boto3 Session: a role's, or a test's
                    client = self._session.client(real, **args)
                else:
                    # botocore itself: boto3 would load s3transfer too (0.05 s of a diagnose).
                    if self._core is None:
                        self._core = botocore_clients.session()
                    client = self._core.create_client(real, **args)
                client.meta.events.register("before-call", self._count)
                report_errors(client, self._on_error)
                self._clients[where] = client
        return client

    def _count(self, model: Any, params: Any = None, **_: Any) -> None:
        # One entry per distinct call (operation and arguments): "at most once" is checkable.
        body = json.dumps((params or {}).get("body") or {}, sort_keys=True, default=str)
        name = f"{model.service_model.service_name}:{model.name} {body}"
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1


class _Failed(Exception):
    """A nested lookup failed: its error is this fact's error too."""


def _as_fact(fetch: Callable[[], T]) -> Fact[T]:
    try:
        return Fact(fetch())
    except ClientError as error:
        info = error.response.get("Error", {})
        return Fact(error=f"{info.get('Code', 'error')}: {info.get('Message', '')}".strip())
    except (BotoCoreError, OSError) as error:
        return Fact(error=f"{type(error).__name__}: {str(error)[:300]}")
    except ResponseParserError:
        # Not an AWS answer at all: moto, for one, answers HTML 500 to operations it lacks
        # (iam:SimulatePrincipalPolicy, iam:PutUserPermissionsBoundary).
        return Fact(error="ResponseParserError: the endpoint's answer is not an AWS answer")
    except (Unreachable, _Failed) as error:
        return Fact(error=str(error))
    except ValueError as error:  # a document the domain refused past the per-document reads
        return Fact(error=str(error))


def _exists(call: Callable[[], Any]) -> bool:
    return or_none(call, "RepositoryNotFoundException") is not None
