"""release.targets: each environment's repository exists in its registry and its repository
policy doesn't refuse the promotion's pushes; a missing one fails with the command that makes
it, a Deny names its statement, and what can't be read is a warning, never a pass."""

from __future__ import annotations

from typing import Any

from bot.domain.checks.checklist import check_app
from bot.domain.checks.model import Fact, Repository, Status, TargetRepository
from bot.domain.iam.policy import Unreadable, parse_policy
from tests.unit.test_checks import ACCOUNT, healthy

PROD = "210987654321"
ROLE = f"arn:aws:iam::{PROD}:role/ecrbot-promote"
REPO = Repository("my-app", f"{PROD}.dkr.ecr.eu-west-2.amazonaws.com/my-app", "arn", True)


NO_POLICY: Fact[Any] = Fact(None)


def target(found: Fact[Any], policy: Fact[Any] = NO_POLICY, pusher: str | None = ROLE) -> Any:
    return TargetRepository("prod", "prod", PROD, "eu-west-2", "my-app", pusher, found, policy)


def results(*targets: TargetRepository) -> list[Any]:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/i-1"
    report = check_app(healthy(targets=targets, bot_principal=Fact(session)))
    return [r for r in report.results if r.id == "release.targets"]


def deny(action: str, principal: str = ROLE) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoProdPushes", "Effect": "Deny", "Principal": {"AWS": principal},
         "Action": action, "Resource": "*"},
    ]})  # fmt: skip


def test_no_environments_no_result() -> None:
    assert results() == []
    assert not [r for r in check_app(healthy()).results if r.id == "release.targets"]


def test_a_missing_repository_fails_with_the_command_that_creates_it() -> None:
    (missing,) = results(target(Fact(None)))
    assert missing.status is Status.FAIL and "RepositoryNotFoundException" in missing.summary
    assert f"In account {PROD}: aws ecr create-repository --repository-name my-app" in (
        missing.remediation
    )


def test_a_deny_of_the_pushes_in_the_repository_policy_fails_naming_it() -> None:
    (refused,) = results(target(Fact(REPO), Fact(deny("ecr:PutImage"))))
    assert refused.status is Status.FAIL and "ecr:PutImage" in refused.summary
    assert "NoProdPushes" in refused.summary and ROLE in refused.remediation
    (other,) = results(target(Fact(REPO), Fact(deny("ecr:PutImage", "arn:aws:iam::1:root"))))
    assert other.status is Status.PASS  # someone else's Deny doesn't stop this role


def test_the_bots_own_principal_pushes_where_the_registry_names_no_role() -> None:
    bot_deny = deny("ecr:*", f"arn:aws:iam::{ACCOUNT}:role/ecrbot")
    (refused,) = results(target(Fact(REPO), Fact(bot_deny), pusher=None))
    assert refused.status is Status.FAIL


def test_what_cant_be_read_is_a_warning() -> None:
    (unread,) = results(target(Fact(error="AccessDenied: sts:AssumeRole")))
    assert unread.status is Status.WARN and "AccessDenied" in unread.summary
    bad = Unreadable("the repository policy", "not JSON")
    (policy,) = results(target(Fact(REPO), Fact(bad)))
    assert policy.status is Status.WARN and "not JSON" in policy.summary


def test_an_existing_repository_with_no_policy_passes() -> None:
    (fine,) = results(target(Fact(REPO)))
    assert fine.status is Status.PASS and "exists" in fine.summary
