"""Diagnose's snapshot of AWS: fetched concurrently, each AWS call at most once, calls counted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws_hooks import OnAwsError, report_errors
from bot.adapters.registry_api import RegistryApi
from bot.domain.checks.model import Fact, Image, KeyUser, OidcProvider, Repository, Role
from bot.domain.iam.trust import Policy, parse_policy
from bot.domain.ports import Registry, RepositoryInfo

T = TypeVar("T")
GITHUB_PROVIDER = "token.actions.githubusercontent.com"
CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)


class AwsFacts:
    """Read-only AWS lookups for diagnose, memoized per instance (one instance per diagnose).

    `calls` counts the AWS API calls made here; image lookups and tokens go through the bot's
    Registry adapter, which caches its login token.
    """

    def __init__(
        self,
        region: str,
        account_id: str,
        *,
        endpoint_url: str | None = None,
        ca_bundle: str | None = None,
        session: boto3.session.Session | None = None,
        pool: ThreadPoolExecutor | None = None,
        registry: Registry | None = None,
        on_error: OnAwsError | None = None,
    ) -> None:
        self.region, self.account_id = region, account_id
        self._session = session or boto3.session.Session()
        self._endpoint = endpoint_url
        self._api = RegistryApi(ca_bundle)
        self._registry = registry
        self._on_error = on_error
        self._pool = pool or ThreadPoolExecutor(max_workers=8, thread_name_prefix="ecrbot-facts")
        self._memo: dict[tuple[Any, ...], Future[Any]] = {}
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self._iam = self._client("iam", "us-east-1")
        self._sts = self._client("sts", region)
        self._ecr = self._client("ecr", region)

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    # -- facts (each returns a Future so callers can start many at once) ------------------------

    def caller(self) -> Future[Fact[str]]:
        return self._fact(("caller",), lambda: self._sts.get_caller_identity()["Arn"])

    def repository(self, name: str) -> Future[Fact[Repository | None]]:
        return self._fact(("repository", self.region, name), lambda: self._repository(name))

    def elsewhere(self, name: str, regions: list[str]) -> Future[Fact[tuple[str, ...]]]:
        def probe() -> tuple[str, ...]:
            found = []
            for region in sorted(set(regions) - {self.region}):
                client = self._client("ecr", region)
                if _exists(partial(client.describe_repositories, repositoryNames=[name])):
                    found.append(region)
            return tuple(found)

        return self._fact(("elsewhere", name, tuple(sorted(regions))), probe)

    def provider(self) -> Future[Fact[OidcProvider | None]]:
        return self._fact(("provider",), self._provider)

    def role(self, arn: str) -> Future[Fact[Role | None]]:
        return self._fact(("role", arn), lambda: self._role(arn.rsplit("/", 1)[-1]))

    def key_users(self) -> Future[Fact[tuple[KeyUser, ...]]]:
        return self._fact(("key_users",), self._key_users)

    def image(self, repository: str, tag: str) -> Future[Fact[Image | None]]:
        return self._fact(("image", repository, tag), lambda: self._image(repository, tag))

    def token(self) -> Future[Fact[str]]:
        assert self._registry is not None
        registry = self._registry
        return self._fact(("token",), lambda: registry.credentials().endpoint)

    def login(self) -> Future[Fact[str]]:
        """The registry answers `GET /v2/` with the ECR token as Basic auth."""
        assert self._registry is not None
        registry = self._registry

        def check() -> str:
            creds = registry.credentials()
            host = creds.endpoint.removeprefix("https://").rstrip("/")
            self._api.ping(host, creds)
            return host

        return self._fact(("login",), check)

    # -- the lookups ------------------------------------------------------------------------

    def _repository(self, name: str) -> Repository | None:
        answer = _or_none(
            lambda: self._ecr.describe_repositories(
                registryId=self.account_id, repositoryNames=[name]
            ),
            "RepositoryNotFoundException",
        )
        if answer is None:
            return None
        repo = answer["repositories"][0]
        return Repository(
            repo["repositoryName"],
            repo["repositoryUri"],
            repo["repositoryArn"],
            repo.get("imageTagMutability", "MUTABLE").startswith("IMMUTABLE"),
        )

    def _provider(self) -> OidcProvider | None:
        for entry in self._iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            arn = entry["Arn"]
            if arn.endswith("/" + GITHUB_PROVIDER):
                details = self._iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
                return OidcProvider(arn, tuple(details.get("ClientIDList", ())))
        return None

    def _role(self, name: str) -> Role | None:
        answer = _or_none(lambda: self._iam.get_role(RoleName=name), "NoSuchEntity")
        if answer is None:
            return None
        role = answer["Role"]
        policies: dict[str, Policy] = {}
        for policy_name in self._iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = self._iam.get_role_policy(RoleName=name, PolicyName=policy_name)
            policies[f"inline:{policy_name}"] = parse_policy(document["PolicyDocument"])
        attached = self._iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        policies.update(self._managed([p["PolicyArn"] for p in attached]))
        return Role(role["Arn"], parse_policy(role["AssumeRolePolicyDocument"]), policies)

    def _key_users(self) -> tuple[KeyUser, ...]:
        users = []
        for page in self._iam.get_paginator("list_users").paginate():
            for user in page["Users"]:
                name = user["UserName"]
                keys = self._iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
                active = tuple(k["AccessKeyId"] for k in keys if k["Status"] == "Active")
                if active:
                    users.append(KeyUser(name, active, self._user_policies(name)))
        return tuple(users)

    def _user_policies(self, name: str) -> dict[str, Policy]:
        iam = self._iam
        policies: dict[str, Policy] = {}
        for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
            document = iam.get_user_policy(UserName=name, PolicyName=policy_name)
            policies[f"inline:{policy_name}"] = parse_policy(document["PolicyDocument"])
        arns = [
            p["PolicyArn"]
            for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        ]
        for group in iam.list_groups_for_user(UserName=name)["Groups"]:
            group_name = group["GroupName"]
            for policy_name in iam.list_group_policies(GroupName=group_name)["PolicyNames"]:
                document = iam.get_group_policy(GroupName=group_name, PolicyName=policy_name)
                policies[f"group:{group_name}:{policy_name}"] = parse_policy(
                    document["PolicyDocument"]
                )
            arns += [
                p["PolicyArn"]
                for p in iam.list_attached_group_policies(GroupName=group_name)["AttachedPolicies"]
            ]
        policies.update(self._managed(arns))
        return policies

    def _managed(self, arns: list[str]) -> dict[str, Policy]:
        """Managed policies' default versions; each fetched once however many principals use it."""
        return {
            arn: self._fact(("managed", arn), partial(self._default_version, arn), inline=True)
            .result()
            .value
            or Policy(())
            for arn in arns
        }

    def _default_version(self, arn: str) -> Policy:
        version = self._iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = self._iam.get_policy_version(PolicyArn=arn, VersionId=version)
        return parse_policy(document["PolicyVersion"]["Document"])

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
        found = self._registry.find_image(RepositoryInfo(repo.name, repo.uri, repo.immutable), tag)
        return Image(found.digest, found.tags, found.revision) if found else None

    # -- plumbing ------------------------------------------------------------------------------

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
        future.set_result(_as_fact(fetch))
        return future

    def _client(self, service: str, region: str) -> Any:
        client = self._session.client(
            service, region_name=region, endpoint_url=self._endpoint, config=CONFIG
        )
        client.meta.events.register("before-call", self._count)
        report_errors(client, self._on_error)
        return client

    def _count(self, model: Any, params: Any = None, **_: Any) -> None:
        # One entry per distinct call (operation and arguments): "at most once" is checkable.
        body = json.dumps((params or {}).get("body") or {}, sort_keys=True, default=str)
        name = f"{model.service_model.service_name}:{model.name} {body}"
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1


def _as_fact(fetch: Callable[[], T]) -> Fact[T]:
    try:
        return Fact(fetch())
    except ClientError as error:
        info = error.response.get("Error", {})
        return Fact(error=f"{info.get('Code', 'error')}: {info.get('Message', '')}".strip())
    except (BotoCoreError, OSError) as error:
        return Fact(error=f"{type(error).__name__}: {error}")
    except ValueError as error:  # a policy document we could not parse
        return Fact(error=str(error))


def _or_none(call: Callable[[], Any], missing: str) -> Any:
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == missing:
            return None
        raise


def _exists(call: Callable[[], Any]) -> bool:
    return _or_none(call, "RepositoryNotFoundException") is not None
