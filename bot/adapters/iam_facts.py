"""Diagnose's IAM reads: the OIDC provider, roles, users with keys, boundaries, the simulator."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from bot.domain.checks.model import (
    Boundary,
    Fact,
    KeyUser,
    OidcProvider,
    Role,
    Simulation,
)
from bot.domain.iam.conditions import PolicyError
from bot.domain.iam.policy import Policy, Unreadable, parse_policy, read_policies

T = TypeVar("T")
GITHUB_PROVIDER = "token.actions.githubusercontent.com"
_level = threading.local()  # `depth` 1 on a fan-out thread's read, 2 on a leaf thread's


class IamFacts:
    """The IAM lookups of `AwsFacts`, which provides the clients, the memo and the account."""

    account_id: str
    _fanout: Executor | None
    _leaves: Executor | None

    if TYPE_CHECKING:  # defined by AwsFacts

        def _client(self, service: str, region: str | None = None) -> Any: ...

        def _fact(
            self, key: tuple[Any, ...], fetch: Callable[[], T], inline: bool = False
        ) -> Future[Fact[T]]: ...

    def provider(self) -> Future[Fact[OidcProvider | None]]:
        return self._fact(("provider",), self._provider)

    def role(self, arn: str) -> Future[Fact[Role | None]]:
        return self._fact(("role", arn), lambda: self._role(arn))

    def key_users(self) -> Future[Fact[tuple[KeyUser, ...]]]:
        return self._fact(("key_users",), self._key_users)

    def user_boundary(self, name: str) -> Future[Fact[Boundary | None]]:
        """A user's permissions boundary. ListUsers leaves it out ("does not return ...
        PermissionsBoundary"), so it takes GetUser: asked only for users who could push."""
        return self._fact(("user_boundary", name), lambda: self._user_boundary(name))

    def simulate(
        self, role_arn: str, actions: tuple[str, ...], resource: str
    ) -> Future[Fact[Simulation | None]]:
        """AWS's policy simulator on the role's own policies (iam:SimulatePrincipalPolicy)."""
        return self._fact(
            ("simulate", role_arn, actions, resource),
            lambda: self._simulate(role_arn, actions, resource),
        )

    def _provider(self) -> OidcProvider | None:
        iam = self._client("iam")
        for entry in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            arn = entry["Arn"]
            if arn.endswith("/" + GITHUB_PROVIDER):
                details = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
                return OidcProvider(arn, tuple(details.get("ClientIDList", ())))
        return None

    def _role(self, arn: str) -> Role | None:
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account != self.account_id:
            # GetRole takes a name and reads the caller's own account: asked here, it would
            # describe a same-named role of this account, not the one the workflow assumes.
            raise Unreachable(
                f"the role is in account {account}; ecrbot's credentials read IAM in account "
                f"{self.account_id}"
            )
        name = arn.rsplit("/", 1)[-1]
        iam = self._client("iam")
        answer = or_none(lambda: iam.get_role(RoleName=name), "NoSuchEntity")
        if answer is None:
            return None
        role = answer["Role"]
        # Three independent chains of reads: on one thread they were the longest wait of a
        # diagnose (about ten round trips one after another).
        (policies, skipped), (managed, unread), (boundary, unread_boundary) = self._each(
            lambda: read_policies(self._inline_policies("role", name)),
            lambda: self._managed(self._attached("role", name)),
            lambda: self._boundary(role.get("PermissionsBoundary")),
        )
        policies.update(managed)
        return Role(
            role["Arn"],
            read_policy("the trust policy", role["AssumeRolePolicyDocument"]),
            policies,
            boundary,
            (*skipped, *unread, *unread_boundary),
            {t["Key"]: t["Value"] for t in role.get("Tags") or ()},
        )

    def _key_users(self) -> tuple[KeyUser, ...]:
        iam = self._client("iam")
        users = [u for page in iam.get_paginator("list_users").paginate() for u in page["Users"]]
        # Each user's reads (keys, then policies) are independent of the other users'.
        found = self._each(*(partial(self._key_user, user) for user in users))
        return tuple(user for user in found if user is not None)

    def _key_user(self, user: dict[str, Any]) -> KeyUser | None:
        """The user with its policies when it has an active access key; else None."""
        iam = self._client("iam")  # its own line: scripts/iam-policy follows plain aliases
        name = user["UserName"]
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        active = tuple(k["AccessKeyId"] for k in keys if k["Status"] == "Active")
        if not active:
            return None
        policies, skipped = self._user_policies(name)
        return KeyUser(name, active, policies, skipped=skipped, arn=user.get("Arn", ""))

    def _user_boundary(self, name: str) -> Boundary | None:
        iam = self._client("iam")
        user = iam.get_user(UserName=name)["User"]
        return self._boundary(user.get("PermissionsBoundary"))[0]

    def _user_policies(self, name: str) -> tuple[dict[str, Policy], tuple[Unreadable, ...]]:
        # Three independent chains (on the leaf pool): one after another, they were the longest
        # wait of a diagnose, after ListUsers and each user's ListAccessKeys.
        documents, (managed, unread), groups = self._each(
            lambda: self._inline_policies("user", name),
            lambda: self._managed(self._attached("user", name)),
            lambda: self._group_policies(name),
        )
        group_documents, (group_managed, group_unread) = groups
        policies, skipped = read_policies({**documents, **group_documents})
        policies.update(managed)
        policies.update(group_managed)
        return policies, (*skipped, *unread, *group_unread)

    def _group_policies(
        self, name: str
    ) -> tuple[dict[str, Any], tuple[dict[str, Policy], tuple[Unreadable, ...]]]:
        """The inline documents (keyed `group:GROUP:NAME`) and managed policies of a user's
        groups."""
        iam = self._client("iam")
        documents: dict[str, Any] = {}
        arns: list[str] = []
        for group in iam.list_groups_for_user(UserName=name)["Groups"]:
            group_name = group["GroupName"]
            for policy_name, document in self._inline_policies("group", group_name).items():
                documents[f"group:{group_name}:{policy_name.removeprefix('inline:')}"] = document
            arns += self._attached("group", group_name)
        return documents, self._managed(arns)

    def _inline_policies(self, kind: str, name: str) -> dict[str, Any]:
        """A role's, user's or group's inline policies, keyed `inline:NAME`."""
        iam = self._client("iam")
        # Named calls, not getattr: deploy/iam's policy is collected from the calls in the code.
        list_names, get = {
            "role": (iam.list_role_policies, iam.get_role_policy),
            "user": (iam.list_user_policies, iam.get_user_policy),
            "group": (iam.list_group_policies, iam.get_group_policy),
        }[kind]
        key = {f"{kind.title()}Name": name}
        documents: dict[str, Any] = {}
        for policy_name in list_names(**key)["PolicyNames"]:
            document = get(**key, PolicyName=policy_name)
            documents[f"inline:{policy_name}"] = document["PolicyDocument"]
        return documents

    def _attached(self, kind: str, name: str) -> list[str]:
        """The managed policies attached to a role, user or group."""
        iam = self._client("iam")
        list_attached = {
            "role": iam.list_attached_role_policies,
            "user": iam.list_attached_user_policies,
            "group": iam.list_attached_group_policies,
        }[kind]
        answer = list_attached(**{f"{kind.title()}Name": name})
        return [p["PolicyArn"] for p in answer["AttachedPolicies"]]

    def _each(self, *reads: Callable[[], Any]) -> list[Any]:
        """Run independent reads at once; their results in order, or the first one's
        exception. From a lookup they run on the fan-out pool, from a fan-out read on the leaf
        pool, and from a leaf read one after another: a thread waiting on reads queued behind
        it in its own pool could deadlock a busy pool, so each level waits only on the level
        below (AwsFacts made without these pools read one after another)."""
        depth = getattr(_level, "depth", 0)
        pool = (self._fanout, self._leaves)[depth] if depth < 2 else None
        if pool is None or len(reads) < 2:
            return [read() for read in reads]
        started = [pool.submit(_at_depth, depth + 1, read) for read in reads]
        return [future.result() for future in started]

    def _boundary(
        self, attached: dict[str, Any] | None
    ) -> tuple[Boundary | None, tuple[Unreadable, ...]]:
        arn = (attached or {}).get("PermissionsBoundaryArn")
        if not arn:
            return None, ()
        managed, unread = self._managed([arn])
        return Boundary(arn, managed.get(arn)), unread

    def _managed(self, arns: list[str]) -> tuple[dict[str, Policy], tuple[Unreadable, ...]]:
        """Managed policies' default versions, each fetched once however many principals (or
        boundaries) use it; one that can't be read (refused, or malformed) is named, and the
        others are kept."""
        policies: dict[str, Policy] = {}
        unread: list[Unreadable] = []
        for arn in arns:
            fact = self._fact(("managed", arn), partial(self._default_version, arn), inline=True)
            value = fact.result()
            if isinstance(value.value, Policy):
                policies[arn] = value.value
            elif isinstance(value.value, Unreadable):
                unread.append(value.value)
            else:
                unread.append(Unreadable(arn, f"could not be fetched: {value.error}"))
        return policies, tuple(unread)

    def _default_version(self, arn: str) -> Policy | Unreadable:
        iam = self._client("iam")
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)
        return read_policy(arn, document["PolicyVersion"]["Document"])

    def _simulate(self, role_arn: str, actions: tuple[str, ...], resource: str) -> Simulation:
        # Without ResourcePolicy: for a role, the simulator takes one only with a CallerArn that
        # is an IAM user ("CallerArn is required if you include a ResourcePolicy and the
        # PolicySourceArn is not the ARN for an IAM user"), which a GitHub session is not. The
        # repository policy is ecrbot's own evaluation's part.
        iam = self._client("iam")
        answer = iam.simulate_principal_policy(
            PolicySourceArn=role_arn, ActionNames=list(actions), ResourceArns=[resource]
        )
        return {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


def _at_depth(depth: int, read: Callable[[], T]) -> T:
    _level.depth = depth
    try:
        return read()
    finally:
        _level.depth = 0


class Unreachable(Exception):
    """A lookup that cannot be made with these credentials: the reason is the fact's error."""


def read_policy(name: str, document: Any) -> Policy | Unreadable:
    try:
        return parse_policy(document)
    except PolicyError as error:
        return Unreadable(name, str(error))


def or_none(call: Callable[[], Any], *missing: str) -> Any:
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in missing:
            return None
        raise
