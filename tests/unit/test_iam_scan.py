"""Which statements of a document apply to a push (`bot.domain.iam.evaluation`): every statement
is read, not only the first that fits; its Resource and Condition see the principal's own
request (policy variables included, in a 2012-10-17 document only); a repository policy's
statement that names another resource applies to nothing (issue #17's mutation floor)."""

from __future__ import annotations

from typing import Any

from bot.domain.iam.evaluation import Decision, Documents, Principal, decide, push_context
from bot.domain.iam.policy import parse_policy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/gha-app"
USER = f"arn:aws:iam::{ACCOUNT}:user/legacy"
REPO = f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/legacy"
PUT = "ecr:PutImage"
MINE = f"arn:aws:ecr:*:{ACCOUNT}:repository/${{aws:username}}"
IS_ME = {"StringEquals": {"aws:PrincipalTag/name": "${aws:username}"}}


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> Any:
    document: dict[str, Any] = {"Statement": list(statements)}
    document.update({"Version": version} if version else {})
    return parse_policy(document)


def allow(resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": PUT, "Resource": resource, **extra}


def push(
    identity: dict[str, Any], arn: str = USER, resource: str | None = REPO, **more: Any
) -> Decision:
    kind: Any = "user" if ":user/" in arn else "role"
    context = push_context(arn, kind, region="eu-west-2", resource_account=ACCOUNT, org_id=None)
    context["aws:PrincipalTag/name"] = "legacy"
    return decide(
        Principal(arn, kind, context), Documents(identity, **more), PUT, resource, ACCOUNT
    )


def test_a_statement_that_does_not_fit_never_hides_the_next() -> None:
    elsewhere = allow(f"arn:aws:ecr:*:{ACCOUNT}:repository/other")
    in_us_east = allow(Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
    for first in (elsewhere, in_us_east):
        decision = push({"p": policy(first, allow())})
        assert decision.decided_by == "allowed by identity policy 'p' statement 2"


def test_a_resource_variable_is_the_pushing_users_own() -> None:
    assert push({"p": policy(allow(MINE))}).allowed is True
    assert (
        push({"p": policy(allow(MINE))}, resource=REPO.replace("legacy", "other")).allowed is False
    )
    # Under 2008-10-17 the variable is text.
    assert push({"p": policy(allow(MINE), version=None)}).allowed is False


def test_a_condition_variable_is_substituted_only_in_a_2012_document() -> None:
    assert push({"p": policy(allow(Condition=IS_ME))}).allowed is True
    assert push({"p": policy(allow(Condition=IS_ME), version="2008-10-17")}).allowed is False


def test_an_action_on_no_resource_is_checked_against_a_literal_star() -> None:
    star = policy(allow("${*}"))  # a Resource of one literal "*" (IAM's escape)
    assert push({"p": star}, resource=None).allowed is True
    assert push({"p": star}).allowed is False


def test_a_repository_statement_naming_another_resource_grants_nothing() -> None:
    grant = {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": PUT}
    other = {**grant, "Resource": REPO.replace("legacy", "other")}
    assert push({}, repository=policy(other)).allowed is False
    assert push({}, repository=policy({**grant, "Resource": REPO})).source == "repository"
