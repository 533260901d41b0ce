"""Diagnose against a moto server seeded with a healthy app and one broken app per failure mode."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from bot.adapters.aws_facts import AwsFacts
from bot.domain.checks.checklist import CHECK_IDS
from bot.domain.checks.model import Organization, Report, Status
from bot.domain.iam.evaluation import Documents, Principal, decide, push_context
from bot.domain.iam.policy import parse_policy
from bot.render.diagnose import as_json
from bot.runtime.executors import Concurrency, Executors
from bot.services.diagnose import Diagnoser, DiagnoseRequest
from tests.diagnose_seed import (
    PROVIDER_ARN,
    PUSH,
    MotoSession,
    Platform,
    SeededApp,
    diagnoser_for,
    push_policy,
)
from tests.e2e.harness import ACCOUNT, REGION, account_session, service_env

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


# --- Issue #12: what AWS evaluates besides the role's identity policies ---


def test_a_repository_policy_deny_stops_the_push_and_is_named(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    # "Deny everyone outside the org": this account is in no organization (moto), so
    # aws:PrincipalOrgID is absent and StringNotEquals holds: AWS denies, whatever the role's
    # own policy allows (IAM User Guide, "Policy evaluation logic": an explicit deny wins).
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideOrg",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            }
        ],
    }
    app = platform.app("repo-deny", repository_policy=policy)
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "privilege.push"]
    assert check.status is Status.FAIL
    assert "explicitly denied by the repository policy statement 'DenyOutsideOrg'" in check.summary
    assert "ecr:GetAuthorizationToken" not in check.summary.split("may not push")[1].split(":")[0]
    assert "set-repository-policy" in check.remediation
    assert "privilege.push" in report.verdict


def test_a_cross_account_role_needs_the_repository_policy_too(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    # IAM User Guide, "Cross-account policy evaluation logic": the resource policy in the
    # trusting account and the principal's identity policy must both allow.
    foreign = "arn:aws:iam::210987654321:role/ci-pusher"
    refused = platform.app("cross-none", role_arn=foreign, role=False)
    report, _ = diagnose(env, tmp_path, refused)
    [push] = [r for r in report.results if r.id == "privilege.push"]
    assert push.status is Status.FAIL
    assert "cross-account: the repository policy in account 123456789012 must allow" in push.summary
    assert "the repository has no policy" in push.summary
    assert '"AWS": "arn:aws:iam::210987654321:role/ci-pusher"' in push.remediation
    [role] = [r for r in report.results if r.id == "trust.role"]
    assert role.status is Status.ERROR and "in account 210987654321" in role.summary

    allowed = platform.app("cross-ok", role_arn=foreign, role=False, repository_policy=True)
    report, diagnoser = diagnose(env, tmp_path, allowed)
    [push] = [r for r in report.results if r.id == "privilege.push"]
    # The repository side allows; the role's own policies are in an account ecrbot can't read.
    assert push.status is Status.ERROR, push
    assert "the repository policy statement 'PushFromCi' allows it" in push.summary
    assert "which ecrbot's credentials can't read" in push.summary
    assert not any("GetRole" in call for call in diagnoser.last_calls)  # never a same-named role


def test_a_permissions_boundary_without_put_image_stops_the_push(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"
    narrow = push_policy(repo_arn, [a for a in PUSH if a != "ecr:PutImage"])
    app = platform.app("boundary", boundary=narrow)
    report, diagnoser = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "privilege.push"]
    assert check.status is Status.FAIL
    assert check.summary.count("ecr:PutImage") == 1
    assert "the permissions boundary arn:aws:iam::123456789012:policy/boundary-" in check.summary
    assert "does not allow it" in check.summary and "intersection" in check.summary
    assert "identity policy 'inline:push' statement 2 allows it" in check.summary
    assert "permissions boundary" in check.remediation
    repeated = {call: n for call, n in diagnoser.last_calls.items() if n > 1}
    assert repeated == {}


def test_an_invalid_operator_fails_the_trust_check_as_aws_would_refuse_it(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    # moto saves it; IAM would answer MalformedPolicyDocument ("Invalid Condition type").
    trust_document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "ForAllValuesStringEquals": {
                        "token.actions.githubusercontent.com:sub": "repo:acme/x:ref:refs/heads/main"
                    }
                },
            }
        ],
    }
    app = platform.app("bad-operator", trust_document=trust_document)
    report, _ = diagnose(env, tmp_path, app)
    [check] = [r for r in report.results if r.id == "trust.subject"]
    assert check.status is Status.FAIL  # not "could not check"
    assert "can't be saved as written: AWS would refuse it" in check.summary
    assert "ForAllValues:StringEquals" in check.summary  # the hint names the fix
    assert "sts:AssumeRoleWithWebIdentity" in check.remediation
    # The role's other documents were still read and evaluated.
    [push] = [r for r in report.results if r.id == "privilege.push"]
    assert push.status is Status.PASS


def test_the_extra_reads_cost_at_most_three_calls_each_made_once(
    env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    app = platform.app("extra-reads", repository_policy=True, boundary=True)
    report, diagnoser = diagnose(env, tmp_path, app)
    assert [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)] == []
    [push] = [r for r in report.results if r.id == "privilege.push"]
    assert "may push" in push.summary
    operations = [call.split(" ", 1)[0] for call in diagnoser.last_calls]
    # The repository policy and the boundary (a managed policy: GetPolicy + GetPolicyVersion).
    extra = [op for op in operations if op in EXTRA_READS]
    assert sorted(extra) == sorted(EXTRA_READS), extra
    # Besides: one DescribeOrganization (SCPs and aws:PrincipalOrgID) and one attempt at the
    # simulator, which moto lacks (privilege.simulator says so in one line).
    assert operations.count("organizations:DescribeOrganization") == 1
    assert operations.count("iam:SimulatePrincipalPolicy") == 1
    [simulator] = [r for r in report.results if r.id == "privilege.simulator"]
    assert simulator.status is Status.SKIP and "not available here" in simulator.summary
    [scp] = [r for r in report.results if r.id == "privilege.scp"]
    assert scp.status is Status.PASS and "in no AWS Organization" in scp.summary
    assert {call: n for call, n in diagnoser.last_calls.items() if n > 1} == {}


EXTRA_READS = ["ecr:GetRepositoryPolicy", "iam:GetPolicy", "iam:GetPolicyVersion"]


def test_scps_are_read_level_by_level_from_the_management_account(env: dict[str, str]) -> None:
    # An organization of its own, in an account of its own on the shared moto server (moto
    # keeps accounts apart by the x-moto-account-id header): nothing else sees it.
    management = f"4{secrets.randbelow(10**11):011d}"
    session = account_session(management)
    org = session.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="ci")["OrganizationalUnit"]["Id"]
    member = org.create_account(AccountName="ci", Email="ci@example.com")["CreateAccountStatus"][
        "AccountId"
    ]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)
    guard = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyCiPushes",
                "Effect": "Deny",
                "Action": "ecr:PutImage",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci-*"}},
            }
        ],
    }
    policy = org.create_policy(
        Content=json.dumps(guard),
        Description="only CI pushes",
        Name="OnlyCiPushes",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=unit)

    executors = Executors(Concurrency())
    facts = AwsFacts(
        REGION,
        management,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        session=session,
        pool=executors.pool("aws_calls"),
    )
    assert facts.organization().result().value == Organization(
        org.describe_organization()["Organization"]["Id"], management
    )
    found = facts.scps(member).result()
    assert found.ok, found.error
    levels = found.value or ()
    assert [level.target.split()[0] for level in levels] == ["root", "OU", "account"]
    assert levels[1].target == f"OU {unit}" and "OnlyCiPushes" in levels[1].policies
    assert facts.scps(management).result().value is None  # SCPs never restrict it
    assert {call: n for call, n in facts.calls.items() if n > 1} == {}  # FullAWSAccess once

    repo = f"arn:aws:ecr:{REGION}:{member}:repository/app"
    allow_all = {
        "p": parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    }
    documents = Documents(identity=allow_all, scps=levels)

    def role(name: str) -> Principal:
        arn = f"arn:aws:iam::{member}:role/{name}"
        return Principal(
            arn, "role", push_context(arn, "role", region=REGION, resource_account=member)
        )

    denied = decide(role("deployer"), documents, "ecr:PutImage", repo, member)
    assert denied.allowed is False
    assert denied.decided_by == (
        f"explicitly denied by SCP 'OnlyCiPushes' on OU {unit} statement 'OnlyCiPushes'"
    )
    assert decide(role("ci-pusher"), documents, "ecr:PutImage", repo, member).allowed
