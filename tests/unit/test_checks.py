"""The checks as pure functions over hand-made snapshots."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain.checks.checklist import check_app, check_platform, verdict
from bot.domain.checks.model import (
    AppFacts,
    Boundary,
    CheckResult,
    Fact,
    Image,
    KeyUser,
    OidcProvider,
    Organization,
    PlatformFacts,
    Repository,
    Role,
    Status,
)
from bot.domain.iam.evaluation import OrgLevel
from bot.domain.iam.trust import PUSH_ACTIONS, Unreadable, parse_policy
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
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                # Both subject forms (GitHub's immutable subjects, 2026-07-15): without a token
                # ecrbot can't tell which one acme/my-app presents.
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": [
                        "repo:acme/my-app:*",
                        "repo:acme@4242/my-app@777:*",
                    ]
                },
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
    # Without a GITHUB_TOKEN or the catalog's keys, the default subject is assumed: said, skipped.
    assert [r.id for r in report.results if r.status is not Status.PASS] == ["oidc.subject"]
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


# --- Issue #12: every document AWS evaluates, each read on its own ---

USER_KEYS = KeyUser("legacy", ("AKIAEXAMPLE",), {"inline:push": parse_policy(PUSH)})
SIMULATED_OK = {action: "allowed" for action in PUSH_ACTIONS[1:]}


def test_one_unreadable_policy_is_named_and_the_rest_still_decide() -> None:
    role = Role(
        ROLE,
        parse_policy(TRUST),
        {"inline:push": parse_policy(PUSH)},
        skipped=(Unreadable("inline:legacy", "unknown condition operator 'StringSorta'"),),
    )
    [push] = by_id(check_app(healthy(role=Fact(role))).results, "privilege.push")
    assert push.status is Status.WARN and "may push" in push.summary
    assert "inline:legacy was not read (unknown condition operator 'StringSorta')" in push.summary


def test_a_trust_policy_aws_would_refuse_fails_the_trust_check() -> None:
    reason = "statement 1: unknown condition operator 'ForAllValuesStringEquals'"
    role = Role(ROLE, Unreadable("the trust policy", reason), {"inline:push": parse_policy(PUSH)})
    report = check_app(healthy(role=Fact(role)))
    [subject] = by_id(report.results, "trust.subject")
    assert subject.status is Status.FAIL and "can't be saved as written" in subject.summary
    assert "trust.subject" in report.verdict
    assert by_id(report.results, "privilege.push")[0].status is Status.PASS


def test_scps_that_cannot_be_read_say_so() -> None:
    org = Fact(Organization("o-abc", "999999999999"))
    refused = Fact[Any](error="AccessDeniedException: You don't have permissions")
    report = check_app(healthy(organization=org, scps=refused))
    [scp] = by_id(report.results, "privilege.scp")
    assert scp.status is Status.ERROR
    assert scp.summary.startswith("could not check: SCPs (they are readable only from")
    assert "could not be checked" in report.verdict


def test_scps_are_evaluated_when_readable() -> None:
    org = Fact(Organization("o-abc", "999999999999"))
    full = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    no_push = parse_policy(
        {"Statement": [{"Sid": "NoEcrWrites", "Effect": "Deny", "Action": "ecr:Put*",
                        "Resource": "*"}]}
    )  # fmt: skip
    levels = (
        OrgLevel("root r-ab12", {"FullAWSAccess": full}),
        OrgLevel(f"account {ACCOUNT}", {"FullAWSAccess": full, "Freeze": no_push}),
    )
    report = check_app(healthy(organization=org, scps=Fact(levels)))
    [scp] = by_id(report.results, "privilege.scp")
    assert scp.status is Status.FAIL
    assert f"explicitly denied by SCP 'Freeze' on account {ACCOUNT} statement 'NoEcrWrites'" in (
        scp.summary
    )
    [push] = by_id(report.results, "privilege.push")
    assert push.status is Status.FAIL and "SCP 'Freeze'" in push.summary
    assert "organization's administrators" in push.remediation
    management = Fact(Organization("o-abc", ACCOUNT))
    [ok] = by_id(check_app(healthy(organization=management)).results, "privilege.scp")
    assert ok.status is Status.PASS and "management account" in ok.summary


def test_the_simulators_deny_is_trusted_and_both_verdicts_shown() -> None:
    simulated = {**SIMULATED_OK, "ecr:PutImage": "implicitDeny"}
    report = check_app(healthy(simulation=Fact(simulated)))
    [push] = by_id(report.results, "privilege.push")
    assert push.status is Status.FAIL
    assert "AWS's policy simulator says implicitDeny (ecrbot's own evaluation: allowed by" in (
        push.summary
    )
    [simulator] = by_id(report.results, "privilege.simulator")
    assert simulator.status is Status.FAIL
    assert "ecr:PutImage: the simulator says implicitDeny, ecrbot says allowed" in simulator.summary
    assert "ecrbot trusts the simulator's deny" in simulator.summary


def test_the_simulator_agreeing_or_missing_is_one_line() -> None:
    agrees = check_app(healthy(simulation=Fact(SIMULATED_OK)))
    [line] = by_id(agrees.results, "privilege.simulator")
    assert line.status is Status.PASS and "agrees" in line.summary
    missing = check_app(healthy(simulation=Fact[Any](error="AccessDenied: not allowed")))
    [line] = by_id(missing.results, "privilege.simulator")
    assert line.status is Status.SKIP
    assert line.summary == (
        "AWS's policy simulator is not available here (AccessDenied): privilege.push is "
        "ecrbot's own evaluation."
    )


def test_a_user_boundary_caps_its_keys_and_a_repository_grant_does_not_escape_a_deny() -> None:
    boundary = Boundary(
        "arn:aws:iam::123456789012:policy/read-only",
        parse_policy(
            {"Statement": [{"Effect": "Allow", "Action": "ecr:Describe*", "Resource": "*"}]}
        ),
    )
    capped = replace(USER_KEYS, boundary=boundary)
    [keys] = by_id(check_app(healthy(key_users=Fact((capped,)))).results, "keys.long_lived")
    assert keys.status is Status.PASS
    uncapped = check_app(healthy(key_users=Fact((USER_KEYS,)))).results
    [keys] = by_id(uncapped, "keys.long_lived")
    assert keys.status is Status.FAIL and "identity policy 'inline:push'" in keys.summary
    # A repository policy naming the user grants past its boundary (same account).
    grant = parse_policy(
        {"Statement": [{"Sid": "Legacy", "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/legacy"},
                        "Action": "ecr:PutImage"}]}
    )  # fmt: skip
    via_repo = healthy(key_users=Fact((capped,)), repository_policy=Fact(grant))
    [keys] = by_id(check_app(via_repo).results, "keys.long_lived")
    assert keys.status is Status.FAIL and "the repository policy statement 'Legacy'" in keys.summary
