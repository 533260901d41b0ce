"""Who is pushing and what AWS would know of the push (`bot.domain.iam.evaluation`): the
principal's account and name, which repository-policy statements name it (`_whom`), the request
context ecrbot builds, and the principal tags it marks absent. Each value here decides whether
a condition holds, so each is pinned (issue #17's mutation floor)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.evaluation import (
    Documents,
    OrgLevel,
    Principal,
    _whom,
    close_tags,
    push_context,
)
from bot.domain.iam.policy import parse_policy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/gha-app"
USER = f"arn:aws:iam::{ACCOUNT}:user/legacy"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/gha-app/GitHubActions"


@pytest.mark.parametrize(
    ("arn", "account", "name"),
    [
        (ROLE, ACCOUNT, "gha-app"),
        (USER, ACCOUNT, "legacy"),
        ("arn:aws:iam::123:role", "123", "arn:aws:iam::123:role"),
        ("not:an:arn:at:all", "", "not:an:arn:at:all"),
        ("gha-app", "", "gha-app"),
    ],
)
def test_a_principal_knows_its_account_and_name(arn: str, account: str, name: str) -> None:
    assert (Principal(arn, "role").account, Principal(arn, "role").name) == (account, name)


def statement(principal: Any = None, not_principal: Any = None, effect: str = "Allow") -> Any:
    raw: dict[str, Any] = {"Effect": effect, "Action": "ecr:PutImage"}
    raw.update({"Principal": principal} if principal is not None else {})
    raw.update({"NotPrincipal": not_principal} if not_principal is not None else {})
    return parse_policy({"Statement": raw}).statements[0]


ROLE_PRINCIPAL = Principal(ROLE, "role")
BOUNDED = Principal(ROLE, "role", boundary=True)


@pytest.mark.parametrize(
    ("raw", "who", "whom"),
    [
        ({"principal": "*"}, ROLE_PRINCIPAL, "direct"),
        ({"principal": {"AWS": "*"}}, ROLE_PRINCIPAL, "direct"),
        ({"principal": {"AWS": [USER, ROLE]}}, ROLE_PRINCIPAL, "direct"),
        ({"principal": {"AWS": ACCOUNT}}, ROLE_PRINCIPAL, "account"),
        ({"principal": {"AWS": ROOT}}, ROLE_PRINCIPAL, "account"),
        ({"principal": {"AWS": "999999999999"}}, ROLE_PRINCIPAL, None),
        ({"principal": {"AWS": USER}}, ROLE_PRINCIPAL, None),
        ({"principal": {"Service": "ecr.amazonaws.com"}}, ROLE_PRINCIPAL, None),
        # NotPrincipal: everyone but those listed; a role's session is out only with the account.
        ({"not_principal": {"AWS": USER}}, ROLE_PRINCIPAL, "direct"),
        ({"not_principal": {"AWS": [ROOT, ROLE]}}, ROLE_PRINCIPAL, None),
        ({"not_principal": {"AWS": [ACCOUNT, SESSION]}}, ROLE_PRINCIPAL, None),
        ({"not_principal": {"AWS": ROLE}}, ROLE_PRINCIPAL, "direct"),
        ({"not_principal": {"AWS": [ROOT, USER]}}, ROLE_PRINCIPAL, "direct"),
        ({"not_principal": {"Service": "x"}}, ROLE_PRINCIPAL, "direct"),
        # With Deny, it always denies a principal with a permissions boundary; with Allow, not.
        ({"not_principal": {"AWS": [ROOT, ROLE]}, "effect": "Deny"}, BOUNDED, "direct"),
        ({"not_principal": {"AWS": [ROOT, ROLE]}, "effect": "Deny"}, ROLE_PRINCIPAL, None),
        ({"not_principal": {"AWS": [ROOT, ROLE]}}, BOUNDED, None),
    ],
)
def test_whom_a_repository_policy_statement_names(
    raw: dict[str, Any], who: Principal, whom: str | None
) -> None:
    assert _whom(statement(**raw), who) == whom


def test_a_session_of_another_role_with_the_same_prefix_is_not_excluded() -> None:
    # "gha-app-2"'s session must not pass for "gha-app"'s: the role name ends at a slash.
    other = f"arn:aws:sts::{ACCOUNT}:assumed-role/gha-app-2/GitHubActions"
    assert _whom(statement(not_principal={"AWS": [ROOT, other]}), ROLE_PRINCIPAL) == "direct"


COMMON = {
    "aws:SecureTransport": "true",
    "aws:RequestedRegion": "eu-west-2",
    "aws:ResourceAccount": "210987654321",
    "aws:PrincipalIsAWSService": "false",
    "aws:ViaAWSService": "false",
    "aws:CalledVia": (),
    "aws:CalledViaFirst": (),
    "aws:CalledViaLast": (),
    "aws:PrincipalServiceName": (),
    "aws:PrincipalServiceNamesList": (),
}


def test_the_push_context_of_a_role_and_of_a_user() -> None:
    where: dict[str, Any] = {"region": "eu-west-2", "resource_account": "210987654321"}
    assert push_context(ROLE, "role", **where) == {
        "aws:PrincipalArn": ROLE,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:PrincipalType": "AssumedRole",
        "aws:username": (),
        **COMMON,
    }
    assert push_context(USER, "user", **where, org_id=None, tags={"team": "ci"}) == {
        "aws:PrincipalArn": USER,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:PrincipalType": "User",
        "aws:username": "legacy",
        **COMMON,
        "aws:PrincipalOrgID": (),
        "aws:PrincipalTag/team": "ci",
    }
    in_org = push_context("arn:aws:iam::1:role", "role", **where, org_id="o-abc")
    assert in_org["aws:PrincipalOrgID"] == "o-abc" and in_org["aws:PrincipalAccount"] == "1"
    assert push_context("legacy", "user", **where)["aws:PrincipalAccount"] == ""
    pathed = push_context(f"arn:aws:iam::{ACCOUNT}:user/team/legacy", "user", **where)
    assert pathed["aws:username"] == "legacy"
    assert push_context("legacy", "user", **where)["aws:username"] == "legacy"


def doc(*keys: str, resource: str = "*") -> Any:
    conditions = {"StringEquals": {key: "x" for key in keys}} if keys else {}
    raw = {"Effect": "Allow", "Action": "ecr:*", "Resource": resource, "Condition": conditions}
    return parse_policy({"Version": "2012-10-17", "Statement": raw})


@pytest.mark.parametrize(
    "documents",
    [
        Documents(identity={"p": doc("aws:PrincipalTag/team")}),
        Documents(identity=None, boundary=("arn:b", doc("aws:principaltag/team"))),
        Documents(identity=None, repository=doc("AWS:PRINCIPALTAG/team")),
        Documents(identity=None, scps=(OrgLevel("root r-1", {"s": doc("aws:PrincipalTag/team")}),)),
        Documents(
            identity={"p": doc(resource="arn:aws:ecr:*:*:repository/${aws:PrincipalTag/team}")}
        ),
        Documents(
            identity={
                "p": parse_policy(
                    {
                        "Version": "2012-10-17",
                        "Statement": {
                            "Effect": "Allow",
                            "Action": "ecr:*",
                            "Resource": "*",
                            "Condition": {
                                "StringLike": {"aws:PrincipalArn": "*/${aws:PrincipalTag/team}"}
                            },
                        },
                    }
                )
            }
        ),
    ],
    ids=["identity", "boundary", "repository", "scp", "resource", "condition value"],
)
def test_a_principal_tag_any_document_uses_is_known_absent(documents: Documents) -> None:
    closed = close_tags({"aws:PrincipalTag/env": "prod"}, documents)
    tagged = [key for key in closed if key.lower() == "aws:principaltag/team"]
    assert len(tagged) == 1 and closed[tagged[0]] == ()
    assert closed["aws:PrincipalTag/env"] == "prod"


def test_tags_the_principal_has_and_other_keys_are_left_alone() -> None:
    documents = Documents(identity={"p": doc("aws:PrincipalTag/team", "aws:SourceVpce")})
    context = {"aws:principaltag/TEAM": "ci"}
    assert close_tags(context, documents) == context
    assert close_tags({}, Documents(identity=None)) == {}
