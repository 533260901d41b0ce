"""Diagnose's ECR checks (read 2026-12-06): create-on-push, managed signing, per-tag mutability,
archived images; on snapshots, like every check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.checks.checklist import check_app
from bot.domain.checks.model import Fact, Image, Repository, Status
from bot.domain.ecr_features import CreationTemplate, SigningRule
from bot.domain.iam.policy import parse_policy
from bot.domain.tag_mutability import TagMutability
from tests.unit.test_checks import ACCOUNT, REGION, REPO_ARN, by_id, healthy

PROFILE = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/ecrbot_ci"
TEMPLATE = CreationTemplate(
    "ROOT", ("CREATE_ON_PUSH",), TagMutability("IMMUTABLE"), "KMS", lifecycle_policy=True
)


def with_role_policy(document: Mapping[str, Any]):  # type: ignore[no-untyped-def]
    facts = healthy()
    role = facts.role.value
    assert role is not None
    role.policies["inline:extra"] = parse_policy(dict(document))
    return facts


def test_a_missing_repository_a_template_creates_is_not_a_failure() -> None:
    facts = healthy(repository=Fact(None), creation_templates=Fact((TEMPLATE,)))
    report = check_app(facts)
    [repo] = by_id(report.results, "registry.repository")
    assert repo.status is Status.PASS
    assert "creates it from the creation template ROOT" in repo.summary
    assert "tags IMMUTABLE, encryption KMS, a lifecycle policy" in repo.summary
    [create] = by_id(report.results, "privilege.create_on_push")
    assert create.status is Status.FAIL
    assert "ecr:CreateRepository, ecr:PutLifecyclePolicy" in create.summary
    assert '"ecr:PutLifecyclePolicy"' in create.remediation


def test_create_on_push_passes_when_the_role_may_create() -> None:
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecr:CreateRepository", "ecr:PutLifecyclePolicy"],
                "Resource": REPO_ARN,
            }
        ],
    }
    facts = with_role_policy(allow)
    report = check_app(
        healthy(role=facts.role, repository=Fact(None), creation_templates=Fact((TEMPLATE,)))
    )
    [create] = by_id(report.results, "privilege.create_on_push")
    assert create.status is Status.PASS


def test_a_template_not_for_push_leaves_the_failure() -> None:
    replication = CreationTemplate("ROOT", ("REPLICATION",))
    report = check_app(healthy(repository=Fact(None), creation_templates=Fact((replication,))))
    [repo] = by_id(report.results, "registry.repository")
    assert repo.status is Status.FAIL and "no CREATE_ON_PUSH" in repo.summary


def test_signing_needs_sign_payload_on_the_profile() -> None:
    report = check_app(healthy(signing_rules=Fact((SigningRule(PROFILE, ("my-*",)),))))
    [sign] = by_id(report.results, "privilege.signing")
    assert sign.status is Status.FAIL and "signer:SignPayload" in sign.summary
    assert PROFILE in sign.remediation
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "signer:SignPayload", "Resource": PROFILE}],
    }
    facts = with_role_policy(allow)
    report = check_app(
        healthy(role=facts.role, signing_rules=Fact((SigningRule(PROFILE, ("my-*",)),)))
    )
    assert by_id(report.results, "privilege.signing")[0].status is Status.PASS


def test_signing_that_covers_other_repositories_says_nothing_and_unserved_is_skipped() -> None:
    other = check_app(healthy(signing_rules=Fact((SigningRule(PROFILE, ("prod-*",)),))))
    assert by_id(other.results, "privilege.signing") == []
    unserved = check_app(healthy(signing_rules=Fact(None)))
    [skip] = by_id(unserved.results, "privilege.signing")
    assert skip.status is Status.SKIP


def test_tags_immutability_with_an_excluded_latest_passes_for_sha_tags() -> None:
    repo = Repository("my-app", "uri", REPO_ARN, True, ("latest",))
    [check] = by_id(check_app(healthy(repository=Fact(repo))).results, "tags.immutability")
    assert check.status is Status.PASS
    assert "IMMUTABLE_WITH_EXCLUSION (latest): SHA tags are immutable; latest is mutable" in (
        check.summary
    )


def test_an_archived_image_under_the_sha_is_named() -> None:
    image = Image("sha256:" + "a" * 64, ("1a2b3c4",), None, "ARCHIVED")
    report = check_app(healthy(sha="1a2b3c4", image=Fact(image)))
    [check] = by_id(report.results, "tags.image")
    assert check.status is Status.FAIL and "archived" in check.summary
    assert "update-image-storage-class" in check.remediation
