"""Diagnose against a moto server seeded with a healthy app and one broken app per failure mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.checks import CHECK_IDS
from bot.domain.checks.model import Report, Status
from bot.render.diagnose import as_json
from bot.services.diagnose import Diagnoser, DiagnoseRequest
from tests.diagnose_seed import MotoSession, Platform, SeededApp, diagnoser_for, push_policy
from tests.e2e.harness import ACCOUNT, REGION, service_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services() -> dict[str, str]:
    return service_env()


@pytest.fixture(scope="module")
def platform(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return Platform(MotoSession(services["AWS_ENDPOINT_URL"]), tmp_path_factory.mktemp("g"))


def diagnose(
    services: dict[str, str], tmp: Path, app: SeededApp, **request: str
) -> tuple[Report, Diagnoser]:
    diagnoser = diagnoser_for(services, tmp, app)
    return diagnoser.run(DiagnoseRequest(app.name, **request)), diagnoser


def statuses(report: Report) -> dict[str, set[Status]]:
    found: dict[str, set[Status]] = {}
    for result in report.results:
        found.setdefault(result.id, set()).add(result.status)
    return found


@pytest.fixture
def env(services: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test services, with moto's dummy credentials for the bot's default boto3 session."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return services


def test_a_healthy_app_passes_every_check(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("healthy")
    report, diagnoser = diagnose(env, tmp_path, app)
    problems = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    assert problems == [], problems
    found = statuses(report)
    for check in (
        "identity.caller",
        "registry.repository",
        "workflow.id_token",
        "workflow.region",
        "oidc.provider",
        "trust.subject",
        "privilege.push",
        "keys.long_lived",
        "tags.immutability",
    ):
        assert found[check] == {Status.PASS}, check
    assert report.verdict.startswith(("All", "Nothing stops pushes"))
    assert set(found) <= set(CHECK_IDS)
    # The key-user check reads each IAM user of the (shared, growing) moto account.
    users = len(platform.iam.list_users()["Users"])
    assert 0 < diagnoser.last_call_count <= 20 + 5 * users
    repeated = {call: n for call, n in diagnoser.last_calls.items() if n > 1}
    assert repeated == {}, repeated  # each AWS call at most once per diagnose


def test_missing_id_token_fails_with_the_permissions_block(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("no-id-token", permissions="    permissions:\n      contents: read")
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "workflow.id_token"]
    assert check.status is Status.FAIL and check.job == "build-and-push"
    assert "id-token: write" in check.remediation and "contents: read" in check.remediation
    assert "workflow.id_token" in report.verdict


def test_region_mismatch_finds_the_repository_in_the_other_region(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("wrong-region", workflow_region="us-east-1", repo_region="us-east-1")
    report, _ = diagnose(env, tmp_path, app)
    found = statuses(report)
    assert found["workflow.region"] == {Status.FAIL}
    [repo] = [r for r in report.results if r.id == "registry.repository"]
    assert repo.status is Status.FAIL and "exists in us-east-1" in repo.summary


def test_trust_policy_for_another_branch_fails_with_a_pasteable_statement(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("bad-trust", trust_subject="repo:acme/somebody-else:ref:refs/heads/main")
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "trust.subject"]
    assert check.status is Status.FAIL
    statement = json.loads(check.remediation.split("\n", 1)[1])
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert f"repo:{app.github}:ref:refs/heads/main" in json.dumps(statement)


def test_wildcard_under_string_equals_is_a_near_miss(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app(
        "star-equals", trust_operator="StringEquals", trust_subject="repo:acme/star-equals-*:*"
    )
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "trust.subject"]
    assert check.status is Status.FAIL and "StringLike" in check.summary


def test_broad_grants_and_missing_aud_warn(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app(
        "broad",
        trust_aud=False,
        policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
        },
    )
    report, _ = diagnose(env, tmp_path, app)
    found = statuses(report)
    assert found["privilege.push"] == {Status.PASS}
    assert Status.WARN in found["privilege.scope"]
    assert Status.WARN in found["trust.hygiene"] or Status.FAIL in found["trust.hygiene"]


def test_missing_push_permission_fails_with_the_least_privilege_policy(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app(
        "no-put",
        policy=push_policy(
            f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*", ["ecr:BatchCheckLayerAvailability"]
        ),
    )
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "privilege.push"]
    assert check.status is Status.FAIL and "ecr:PutImage" in check.summary
    assert "ecr:InitiateLayerUpload" in check.remediation


def test_long_lived_keys_that_can_push_fail(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("keys")
    user = platform.key_user(app)
    report, _ = diagnose(env, tmp_path, app)
    failing = [r for r in report.results if r.id == "keys.long_lived" and r.status is Status.FAIL]
    assert any(user in r.summary for r in failing)
    assert any("update-access-key" in r.remediation for r in failing)


def test_mutable_tags_warn_with_the_cli_fix(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("mutable", immutable=False)
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "tags.immutability"]
    assert check.status is Status.WARN
    assert "aws ecr put-image-tag-mutability" in check.remediation


def test_missing_role_fails_and_the_other_checks_still_run(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("no-role", role=False)
    report, _ = diagnose(env, tmp_path, app)
    found = statuses(report)
    assert found["trust.role"] == {Status.FAIL}
    assert found["registry.repository"] == {Status.PASS}
    assert "workflow.id_token" in found


def test_json_output_lists_every_check(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("json")
    report, _ = diagnose(env, tmp_path, app)
    checks = json.loads(as_json(report))["checks"]
    assert {"id", "status", "summary", "remediation", "resource", "job"} <= set(checks[0])
    assert {c["status"] for c in checks} <= {"pass", "warn", "fail", "skip", "error"}
