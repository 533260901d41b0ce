"""The IAM evaluator's edge cases, each against the AWS page it follows (issue #12)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.conditions import conditions_match, conditions_state
from bot.domain.iam.near_misses import explain_entry
from bot.domain.iam.policy import Unreadable, covers_resource, parse_policy, read_policies
from bot.domain.iam.trust import OidcRequest, PolicyError, evaluate_trust
from bot.domain.iam.variables import substitute

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
SUB = "token.actions.githubusercontent.com:sub"
AUD = "token.actions.githubusercontent.com:aud"
TAGS = "aws:TagKeys"


def trust(condition: dict[str, Any], version: str | None = "2012-10-17") -> Any:
    document: dict[str, Any] = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ]
    }
    if version:
        document["Version"] = version
    return parse_policy(document)


# --- A single-valued operator against a multivalued key ---
# AWS: "Multivalued context keys require a condition set operator" and documents no result for
# a plain operator over several request values ("Single-valued vs. multivalued context keys",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
# ecrbot's choice: read it as ForAllValues over the values present, so it never holds just
# because one value matches.


def test_a_plain_operator_does_not_match_a_multivalued_key_on_one_value() -> None:
    block = {"StringEquals": {TAGS: ("team",)}}
    assert not conditions_match(block, {TAGS: ["team", "cost-center"]})
    assert conditions_match(block, {TAGS: ["team"]})
    assert conditions_match(block, {TAGS: ["team", "team"]})
    # With a set operator the author says which one they meant.
    assert conditions_match({"ForAnyValue:StringEquals": {TAGS: ("team",)}}, {TAGS: ["team", "x"]})
    assert not conditions_match(
        {"ForAllValues:StringEquals": {TAGS: ("team",)}}, {TAGS: ["team", "x"]}
    )


def test_a_multivalued_miss_is_explained() -> None:
    entry = ("StringEquals", TAGS, ("team",))
    [reason] = explain_entry(entry, {TAGS: ["team", "x"]}, subject_key=SUB, audience_key=AUD)
    assert "several values of aws:TagKeys with the single-valued StringEquals" in reason
    assert "ForAnyValue:StringEquals" in reason


# --- ForAllValues:Null / ForAnyValue:Null ---
# AWS: Null "true" means the key is absent, "false" present ("Condition operator to check
# existence of condition keys"); ForAllValues "also returns true if there are no context keys
# in the request" ("Multivalued context keys", reference_policies_condition-single-vs-multi-
# valued-context-keys.html).


@pytest.mark.parametrize(
    ("operator", "value", "context", "expected"),
    [
        ("ForAllValues:Null", "true", {}, True),
        ("ForAllValues:Null", "false", {}, True),  # vacuous: the trap AWS warns about
        ("ForAllValues:Null", "true", {TAGS: ["a"]}, False),
        ("ForAllValues:Null", "false", {TAGS: ["a", "b"]}, True),
        ("ForAnyValue:Null", "true", {}, False),
        ("ForAnyValue:Null", "false", {}, False),
        ("ForAnyValue:Null", "false", {TAGS: ["a"]}, True),
        ("ForAnyValue:Null", "true", {TAGS: ["a"]}, False),
    ],
)
def test_set_operators_over_null_are_evaluated(
    operator: str, value: str, context: dict[str, Any], expected: bool
) -> None:
    parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Condition": {operator: {}}}]})
    assert conditions_match({operator: {TAGS: (value,)}}, context) is expected


# --- Operators and keys IAM refuses: the trust check fails, it is not "could not check" ---
# IAM answers MalformedPolicyDocument ("Invalid Condition type") for an operator it doesn't
# know ("IAM JSON policy elements: Condition operators",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"ForAllValuesStringEquals": {SUB: "repo:a/b:*"}},
            "unknown condition operator 'ForAllValuesStringEquals' (a set operator is joined to "
            "its operator by a colon: ForAllValues:StringEquals)",
        ),
        ({"NullIfExists": {SUB: "true"}}, "IfExists can follow any operator except Null"),
        ({"StringEqualz": {SUB: "x"}}, "unknown condition operator 'StringEqualz'"),
        (
            {"StringLike": {"https://token.actions.githubusercontent.com:sub": "repo:a/b:*"}},
            "name the provider without its scheme: 'token.actions.githubusercontent.com:sub'",
        ),
        ({"StringLike": {" token.actions.githubusercontent.com:sub": "x"}}, "not a valid key"),
    ],
)
def test_operators_and_keys_iam_refuses_make_the_document_unreadable(
    condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        trust(condition)
    assert message in str(raised.value)


def test_one_unreadable_document_never_hides_the_others() -> None:
    good = {"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
    bad = {"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Condition": {"Sorta": {}}}]}
    policies, skipped = read_policies({"good": good, "bad": bad, "worse": "{not json"})
    assert list(policies) == ["good"]
    assert [s.name for s in skipped] == ["bad", "worse"]
    assert isinstance(skipped[0], Unreadable) and "unknown condition operator" in skipped[0].reason


# --- Policy variables ---
# "IAM policy elements: Variables and tags",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html, and
# "IAM JSON policy elements: Version" (variables only under 2012-10-17).


def test_variables_are_substituted_in_conditions() -> None:
    policy = trust(
        {"StringLike": {SUB: "repo:${token.actions.githubusercontent.com:repository}:*"}}
    )
    subject = "repo:acme/app:ref:refs/heads/main"
    known = OidcRequest(PROVIDER, subject, extra={"repository": "acme/app"})
    assert evaluate_trust(policy, known).allowed
    other = OidcRequest(PROVIDER, subject, extra={"repository": "acme/other"})
    assert not evaluate_trust(policy, other).allowed


def test_an_unresolvable_variable_never_applies_and_is_explained() -> None:
    policy = trust(
        {"StringLike": {SUB: "repo:${token.actions.githubusercontent.com:repository}:*"}}
    )
    decision = evaluate_trust(policy, OidcRequest(PROVIDER, "repo:acme/app:pull_request"))
    assert not decision.allowed
    [miss] = decision.near_misses
    assert "${token.actions.githubusercontent.com:repository}" in miss
    assert "AWS treats the statement as invalid for it" in miss


def test_a_variable_in_a_deny_that_cannot_resolve_does_not_deny() -> None:
    # The statement is invalid for the request, so it neither allows nor denies.
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": PROVIDER},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                },
                {
                    "Effect": "Deny",
                    "Principal": {"Federated": PROVIDER},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringNotEquals": {SUB: "${aws:username}"}},
                },
            ],
        }
    )
    assert evaluate_trust(policy, OidcRequest(PROVIDER, "repo:a/b:pull_request")).allowed


@pytest.mark.parametrize(
    ("value", "context", "pattern", "expected"),
    [
        ("home/${aws:username}/*", {"aws:username": "ana"}, True, "home/ana/*"),
        ("${aws:PrincipalTag/team, 'none'}", {}, False, "none"),
        ("${aws:PrincipalTag/team, 'it''s'}", {}, False, "it's"),
        ("${aws:PrincipalTag/team, 'none'}", {"aws:PrincipalTag/team": "ci"}, False, "ci"),
        ("${aws:username}", {}, False, None),
        ("${aws:TagKeys}", {"aws:TagKeys": ["a", "b"]}, False, None),  # multivalued: no
        ("a${*}b${?}c${$}", {}, False, "a*b?c$"),
        ("a${*}b", {}, True, "a${*}b"),  # kept as an escape in a pattern
        ("${aws:username}", {"aws:username": "x*y"}, True, "x${*}y"),  # values are literal
        ("${AWS:UserName}", {"aws:username": "ana"}, False, "ana"),  # keys ignore case
    ],
)
def test_substitution(
    value: str, context: dict[str, Any], pattern: bool, expected: str | None
) -> None:
    assert substitute(value, context, pattern=pattern) == expected


def test_variables_in_resources_and_the_2008_version() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "ecr:PutImage",
        "Resource": "arn:aws:ecr:*:*:repository/${aws:username}/*",
    }
    current = parse_policy({"Version": "2012-10-17", "Statement": [statement]}).statements[0]
    legacy = parse_policy({"Version": "2008-10-17", "Statement": [statement]}).statements[0]
    missing = parse_policy({"Statement": [statement]}).statements[0]  # no Version: 2008
    repo = "arn:aws:ecr:eu-west-2:123456789012:repository/ana/app"
    assert covers_resource(current, repo, {"aws:username": "ana"})
    assert not covers_resource(current, repo, {"aws:username": "bob"})
    assert not covers_resource(current, repo, {})  # unresolvable: covers nothing
    literal = "arn:aws:ecr:eu-west-2:123456789012:repository/${aws:username}/app"
    for old in (legacy, missing):
        assert not covers_resource(old, repo, {"aws:username": "ana"})
        assert covers_resource(old, literal, {"aws:username": "ana"})


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(PolicyError, match="Version must be"):
        parse_policy({"Version": "2012-10-18", "Statement": []})


# --- A partly known request: unknown keys make a statement conditional, never a guess ---


def test_conditions_state_over_a_partly_known_request() -> None:
    org = {"StringNotEquals": {"aws:PrincipalOrgID": ("o-abc",)}}
    assert conditions_state(org, {}) is None  # unknown
    assert conditions_state(org, {"aws:PrincipalOrgID": ()}) is True  # known absent
    assert conditions_state(org, {"aws:PrincipalOrgID": "o-abc"}) is False
    both = {**org, "Bool": {"aws:SecureTransport": ("false",)}}
    assert conditions_state(both, {"aws:SecureTransport": "true"}) is False  # False wins
    variable = {"StringEquals": {"aws:PrincipalTag/team": ("${aws:username}",)}}
    assert conditions_state(variable, {"aws:PrincipalTag/team": "ana"}) is None
