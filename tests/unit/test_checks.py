"""The checks as pure functions over hand-made snapshots."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.checks import check_app, check_platform, verdict
from bot.domain.checks.model import (
    AppFacts,
    CheckResult,
    Fact,
    Image,
    OidcProvider,
    PlatformFacts,
    Repository,
    Role,
    Status,
)
from bot.domain.iam.trust import parse_policy
from bot.domain.workflow.analysis import analyse_workflows

ACCOUNT, REGION = "123456789012", "eu-west-2"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/gha-my-app"
REPO_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/my-app"
WORKFLOW = f"""on:
  push:
    branches: [main]
jobs:
  build-and-push:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: {ROLE}
          aws-region: {REGION}
      - run: ./scripts/ecr-build-push.sh --registry r --name my-app --sha ${{{{ github.sha }}}}
"""
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/my-app:*"},
            },
        }
    ],
}
PUSH = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            "Resource": REPO_ARN,
        },
    ],
}


def healthy(**changes: object) -> AppFacts:
    facts = AppFacts(
        app="my-app",
        github="acme/my-app",
        branch="main",
        environment=None,
        region=REGION,
        account_id=ACCOUNT,
        role_arn=ROLE,
        repository_name="my-app",
        caller=Fact(f"arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/bot"),
        repository=Fact(
            Repository(
                "my-app",
                f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-app",
                REPO_ARN,
                immutable=True,
            )
        ),
        elsewhere=Fact(()),
        workflows=Fact(analyse_workflows({".github/workflows/push.yml": WORKFLOW})),
        provider=Fact(OidcProvider(PROVIDER, ("sts.amazonaws.com",))),
        role=Fact(Role(ROLE, parse_policy(TRUST), {"inline:push": parse_policy(PUSH)})),
        key_users=Fact(()),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def by_id(results: tuple[CheckResult, ...], check_id: str) -> list[CheckResult]:
    return [r for r in results if r.id == check_id]


def test_the_healthy_snapshot_passes() -> None:
    report = check_app(healthy())
    assert [r for r in report.results if r.status is not Status.PASS] == []
    assert report.verdict == f"All {len(report.results)} checks pass."


def test_a_check_that_cannot_run_says_why_and_the_rest_run() -> None:
    report = check_app(healthy(role=Fact(error="AccessDenied: iam:GetRole")))
    [role] = by_id(report.results, "trust.role")
    assert role.status is Status.ERROR and "could not check: AccessDenied" in role.summary
    assert by_id(report.results, "registry.repository")[0].status is Status.PASS
    assert "could not be checked" in report.verdict and not report.failed


def test_repository_in_another_region_names_it() -> None:
    report = check_app(healthy(repository=Fact(None), elsewhere=Fact(("us-east-1",))))
    [repo] = by_id(report.results, "registry.repository")
    assert repo.status is Status.FAIL and "exists in us-east-1" in repo.summary
    assert report.verdict == "1 problem stops pushes: registry.repository."


def test_missing_provider_and_audience() -> None:
    missing = check_app(healthy(provider=Fact(None)))
    assert (
        "create-open-id-connect-provider" in by_id(missing.results, "oidc.provider")[0].remediation
    )
    no_aud = check_app(healthy(provider=Fact(OidcProvider(PROVIDER, ("other",)))))
    assert (
        "add-client-id-to-open-id-connect-provider"
        in by_id(no_aud.results, "oidc.provider")[0].remediation
    )


def test_environment_subject_is_checked_when_asked() -> None:
    report = check_app(healthy(environment="prod"))
    subjects = [r.summary for r in by_id(report.results, "trust.subject")]
    assert any("repo:acme/my-app:environment:prod" in s for s in subjects)


def test_image_for_a_sha_says_what_a_push_would_do() -> None:
    other = Image("sha256:" + "a" * 64, ("1a2b3c4",), "f" * 40)
    refused = check_app(healthy(sha="1a2b3c4", image=Fact(other)))
    assert by_id(refused.results, "tags.image")[0].status is Status.FAIL
    same = Image("sha256:" + "a" * 64, ("1a2b3c4",), "1a2b3c4" + "0" * 33)
    assert (
        by_id(check_app(healthy(sha="1a2b3c4", image=Fact(same))).results, "tags.image")[0].status
        is Status.PASS
    )


def test_no_aws_workflow_warns_with_the_runbook_snippet() -> None:
    report = check_app(healthy(workflows=Fact(())))
    [present] = by_id(report.results, "workflow.present")
    assert present.status is Status.WARN and "id-token: write" in present.remediation


def test_platform_checks_fail_with_a_fix() -> None:
    facts = PlatformFacts(
        REGION,
        ACCOUNT,
        Fact("arn"),
        Fact(error="ConnectionError: refused"),
        Fact("https://h"),
        Fact("h"),
    )
    report = check_platform(facts)
    [docker] = by_id(report.results, "platform.docker")
    assert docker.status is Status.FAIL and "DOCKER_HOST" in docker.remediation
    assert report.failed


def test_verdict_wording() -> None:
    warn = CheckResult("tags.immutability", Status.WARN, "mutable")
    assert verdict([warn]) == "Nothing stops pushes; 1 warning(s) deserve a look."
