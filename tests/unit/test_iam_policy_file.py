"""deploy/iam/ecrbot-policy.json covers every AWS action the code calls, and no more than reads
plus pushes (scripts/iam-policy collects the calls from bot/ with `ast`)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.domain.iam.conditions import wildcard_match
from bot.domain.iam.trust import PUSH_ACTIONS, evaluate_permissions, parse_policy

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "iam-policy"
POLICY = ROOT / "deploy" / "iam" / "ecrbot-policy.json"
ACCOUNT = "123456789012"
IAM_WRITES = ("iam:Create*", "iam:Put*", "iam:Delete*", "iam:Update*", "iam:Attach*")
ECR_WRITES_BEYOND_PUSH = (
    "ecr:Delete*",
    "ecr:Create*",
    "ecr:Set*",
    "ecr:Put*Policy",
    "ecr:PutImageTagMutability",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutRegistry*",
    "ecr:BatchDeleteImage",
    "ecr:StartImageScan",
    "ecr:TagResource",
)


def _script() -> ModuleType:
    loader = SourceFileLoader("iam_policy", str(SCRIPT))
    spec = spec_from_loader("iam_policy", loader)
    assert spec is not None
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


@pytest.fixture(scope="module")
def collected(script: ModuleType) -> set[str]:
    actions: set[str] = script.collected_actions()
    return actions


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY.read_text(encoding="utf-8"))
    return document


def _granted(policy: dict[str, Any]) -> list[str]:
    return [
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    ]


# -- the collector ----------------------------------------------------------------------------


def test_the_collector_finds_each_way_the_code_reaches_aws(collected: set[str]) -> None:
    expected = {
        "ecr:DescribeRepositories",  # self._ecr.describe_repositories via self._call, partial(...)
        "ecr:GetAuthorizationToken",
        "ecr:DescribeImages",  # a direct call, and a paginator through the _pages helper
        "ecr:GetLifecyclePolicy",  # a bound method handed to self._call
        "ecr:GetRegistryScanningConfiguration",
        "ecr:DescribeImageScanFindings",
        "iam:ListUsers",  # get_paginator("list_users")
        "iam:ListRoles",  # self._pages(self._iam, "list_roles")
        "iam:ListOpenIDConnectProviders",  # botocore's name, not a naive camel-casing
        "iam:GetPolicyVersion",
        "iam:GetGroupPolicy",  # through the alias `iam = self._iam`
        "sts:GetCallerIdentity",
        # Issue #12: the repository policy, boundaries of users who could push, the simulator,
        # and the SCPs (through an Organizations client a factory makes).
        "ecr:GetRepositoryPolicy",
        "iam:GetUser",
        "iam:SimulatePrincipalPolicy",
        "organizations:DescribeOrganization",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",  # a paginator
        "organizations:DescribePolicy",
    }
    assert expected <= collected
    assert set(PUSH_ACTIONS) <= collected  # docker push through the ECR token
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= collected  # registry API reads
    assert {a.split(":")[0] for a in collected} == {"ecr", "iam", "organizations", "sts"}


def test_the_collector_reads_every_pattern(script: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "bot"
    source.mkdir()
    (source / "adapter.py").write_text(
        """
import boto3
from functools import partial

MODULE_CLIENT = boto3.client("sts")


class Reader:
    def __init__(self, session):
        self._ecr = session.client("ecr", region_name="eu-west-2")
        self._iam = self._client(service_name="iam")

    def direct(self):
        return self._ecr.list_images(repositoryName="x")

    def passed_on(self):
        return self._call(self._ecr.get_repository_policy, repositoryName="x")

    def paginated(self):
        return self._iam.get_paginator("list_policies").paginate()

    def through_helper(self):
        return self._pages(self._ecr, "describe_pull_through_cache_rules")

    def aliased(self):
        iam = self._iam
        return [partial(iam.list_instance_profiles)]

    def local(self, session):
        def inner():
            client = session.client("ecr")
            return client.describe_registry()
        return inner()

    def not_an_operation(self):
        self._ecr.meta.events.register("before-call", print)
        return self._ecr.exceptions

    def _pages(self, client, operation, **kwargs):
        return client.get_paginator(operation).paginate(**kwargs)


def module_level():
    return MODULE_CLIENT.get_session_token()
""",
        encoding="utf-8",
    )
    calls = script.collect(source, tmp_path)
    assert {c.action for c in calls} == {
        "ecr:ListImages",
        "ecr:GetRepositoryPolicy",
        "iam:ListPolicies",
        "ecr:DescribePullThroughCacheRules",
        "iam:ListInstanceProfiles",
        "ecr:DescribeRegistry",
        "sts:GetSessionToken",
    }
    assert all(c.where.startswith("bot/adapter.py:") for c in calls)


# -- the policy file --------------------------------------------------------------------------


def test_the_policy_file_is_what_the_script_generates(
    script: ModuleType, collected: set[str], policy: dict[str, Any]
) -> None:
    assert policy == script.build_policy(collected)
    assert POLICY.read_text(encoding="utf-8") == script.render(policy)


def test_the_policy_allows_every_collected_action(
    script: ModuleType, collected: set[str], policy: dict[str, Any]
) -> None:
    granted = _granted(policy)
    needed = collected - {"sts:GetCallerIdentity"}  # needs no permission
    assert "sts:GetCallerIdentity" not in granted
    assert needed <= set(granted)
    # Evaluated as IAM would, by diagnose's own evaluator, on a resource the bot uses.
    parsed = {"ecrbot": parse_policy(policy)}
    for action in sorted(needed):
        resource = script.sample_resource(action)
        decision = evaluate_permissions(parsed, [action], resource)[action]
        assert decision.allowed, f"{action} on {resource}: {decision.via}"


def test_repository_actions_stop_at_the_accounts_repositories(policy: dict[str, Any]) -> None:
    parsed = {"ecrbot": parse_policy(policy)}
    for action in (*PUSH_ACTIONS[1:], "ecr:BatchGetImage", "ecr:DescribeImages"):
        elsewhere = "arn:aws:ecr:eu-west-2:999999999999:repository/my-app"
        assert not evaluate_permissions(parsed, [action], elsewhere)[action].allowed
        mine = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/my-app"
        assert evaluate_permissions(parsed, [action], mine)[action].allowed
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert not set(statement["Action"]) & set(PUSH_ACTIONS[1:]), statement["Sid"]


def test_nothing_write_like_on_iam_and_no_wildcard_actions(policy: dict[str, Any]) -> None:
    granted = _granted(policy)
    for action in granted:
        assert "*" not in action and "?" not in action, f"{action}: name actions one by one"
        for pattern in IAM_WRITES + ECR_WRITES_BEYOND_PUSH:
            assert not wildcard_match(pattern, action, ignore_case=True), f"{action} is a write"
        if action.startswith("iam:"):
            # SimulatePrincipalPolicy only evaluates: its access level is Read (Service
            # Authorization Reference, "Actions defined by AWS Identity and Access Management").
            name = action.split(":")[1]
            assert name.startswith(("Get", "List")) or name == "SimulatePrincipalPolicy", action
        if action.startswith("organizations:"):
            assert action.split(":")[1].startswith(("Describe", "List")), action
    parsed = {"ecrbot": parse_policy(policy)}
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "ecr:*"):
        assert not evaluate_permissions(parsed, [action], "*")[action].allowed
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in policy["Statement"])


# -- scripts/iam-policy --check ---------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_check_passes_on_the_repository_policy() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_when_an_action_is_missing(policy: dict[str, Any], tmp_path: Path) -> None:
    trimmed = json.loads(json.dumps(policy))
    for statement in trimmed["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "iam:ListRoles"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(trimmed), encoding="utf-8")
    result = _run("--check", "--policy", str(path))
    assert result.returncode == 1
    assert "iam:ListRoles" in result.stderr


def test_check_fails_when_a_repository_action_is_granted_on_another_account(
    policy: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy).replace(ACCOUNT, "999999999999"), encoding="utf-8")
    result = _run("--check", "--policy", str(path))
    assert result.returncode == 1
    assert "ecr:PutImage" in result.stderr
    assert _run("--check", "--policy", str(path), "--account", "999999999999").returncode == 0


# -- the registry roles the bot assumes for a person (issue #16) --------------------------------

ASSUME = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]


def _catalog(tmp_path: Path, registry_role: str | None, *roles: str) -> Path:
    home = f', role: "{registry_role}"' if registry_role else ""
    lines = [f'registry: {{account_id: "{ACCOUNT}", region: eu-west-2{home}}}', "registries:"]
    lines += [
        f'  r{i}: {{account_id: "{role.split(":")[4]}", region: eu-west-2, role: "{role}"}}'
        for i, role in enumerate(roles)
    ]
    path = tmp_path / "catalog.yml"
    path.write_text("\n".join(lines if roles else lines[:1]) + "\n", encoding="utf-8")
    return path


def test_assume_role_is_granted_on_the_catalogs_registry_roles_only(
    script: ModuleType, collected: set[str], tmp_path: Path
) -> None:
    prod = "arn:aws:iam::210987654321:role/ecrbot-promote"
    home = f"arn:aws:iam::{ACCOUNT}:role/ecrbot-home"
    roles = script.catalog_roles(_catalog(tmp_path, home, prod, prod))
    assert roles == [home, prod]
    policy = script.build_policy(collected, roles=roles)
    [statement] = [s for s in policy["Statement"] if s["Action"][0].startswith("sts:")]
    assert statement["Action"] == ASSUME and statement["Resource"] == [home, prod]
    parsed = {"ecrbot": parse_policy(policy)}
    for action in ASSUME:
        for role in roles:
            assert evaluate_permissions(parsed, [action], role)[action].allowed
        other = "arn:aws:iam::210987654321:role/admin"
        assert not evaluate_permissions(parsed, [action], other)[action].allowed
    no_roles = script.build_policy(collected, roles=script.catalog_roles(_catalog(tmp_path, None)))
    assert not [a for a in _granted(no_roles) if a.startswith("sts:")]


def test_the_file_names_a_placeholder_role_and_check_wants_the_catalogs(
    policy: dict[str, Any], tmp_path: Path
) -> None:
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "AssumeRegistryRolesForAPerson"]
    assert statement["Action"] == ASSUME
    assert (
        statement["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/REPLACE-WITH-CATALOG-REGISTRY-ROLES"
    )
    catalog = _catalog(tmp_path, None, "arn:aws:iam::210987654321:role/ecrbot-promote")
    result = _run("--check", "--catalog", str(catalog))
    assert result.returncode == 1
    assert "sts:SetSourceIdentity on arn:aws:iam::210987654321:role/ecrbot-promote" in result.stderr
    written = _run("--catalog", str(catalog))
    path = tmp_path / "policy.json"
    path.write_text(written.stdout, encoding="utf-8")
    assert _run("--check", "--catalog", str(catalog), "--policy", str(path)).returncode == 0
