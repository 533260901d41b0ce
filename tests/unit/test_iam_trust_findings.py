"""The weaknesses `/ecr diagnose` finds in a trust policy that lets GitHub in, and the trust
statement it offers instead (`trust_findings`, `subject_breadth`, `suggest_trust_statement`),
word for word (issue #17's mutation floor)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.conditions import subject_breadth
from bot.domain.iam.trust import TrustFinding, parse_policy, suggest_trust_statement, trust_findings

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
HOST = "token.actions.githubusercontent.com"
SUB, AUD = f"{HOST}:sub", f"{HOST}:aud"
SHORT = "arn:aws:iam::12345678901:oidc-provider/x"  # an account of 11 digits
NO_AUD = f"No {AUD} condition: add StringEquals {AUD} = sts.amazonaws.com."
NO_SUB = f"No {SUB} condition: any repository on GitHub could assume the role."
IDS_HOLE = (
    "a deleted 'org' or repository whose name someone re-creates matches again, the hole "
    "immutable subjects close. Write the IDs (`gh api repos/OWNER/REPO --jq '.owner.id, .id'`)."
)


def anyone(pattern: str) -> tuple[str, str]:
    return "fail", f"The sub pattern '{pattern}' matches repositories of any owner on GitHub."


def every(pattern: str, fits: str = "") -> tuple[str, str]:
    which = f" whose name fits '{fits}'" if fits else ""
    return "warn", (
        f"The sub pattern '{pattern}' matches every repository of 'org'{which}: name the "
        "repository."
    )


def any_id(pattern: str) -> tuple[str, str]:
    return "warn", (
        f"The sub pattern '{pattern}' accepts any owner or repository ID after '@': {IDS_HOLE}"
    )


BREADTH = [
    ("repo:org/app:ref:refs/heads/main", None),
    ("repo:org/app:*", None),
    ("org/app", None),
    ("repo:org@1/app@2:*", None),
    ("*", anyone("*")),
    ("?x", anyone("?x")),
    ("repo:*/app:*", anyone("repo:*/app:*")),
    ("repo:o?g@1/app:*", anyone("repo:o?g@1/app:*")),
    ("repo:org/*", every("repo:org/*")),
    ("repo:org/app-*:*", every("repo:org/app-*:*", "app-*")),
    ("repo:org@1/ap?@2:*", every("repo:org@1/ap?@2:*", "ap?")),
    ("repo:org@*/app@2:*", any_id("repo:org@*/app@2:*")),
    ("repo:org@1/app@*", any_id("repo:org@1/app@*")),
    ("repo:org@1/app@?:ref:x", any_id("repo:org@1/app@?:ref:x")),
    # Not a subject pattern unless it starts with "repo:" or a wildcard.
    ("a*", None),
    # The owner's ID is all after its first '@'; the repository's ID ends at the first ':'.
    ("repo:org@*@1/app@2:*", any_id("repo:org@*@1/app@2:*")),
    ("repo:org@1/app@2:*:x", None),
]


@pytest.mark.parametrize(("pattern", "found"), BREADTH)
def test_how_broad_a_subject_pattern_is(pattern: str, found: tuple[str, str] | None) -> None:
    assert subject_breadth(pattern) == found


def policy(*conditions: dict[str, Any] | None, **extra: Any) -> Any:
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            **({"Condition": condition} if condition else {}),
            **extra,
        }
        for condition in conditions
    ]
    return parse_policy({"Version": "2012-10-17", "Statement": statements})


def test_each_trusting_statement_is_judged() -> None:
    broad = {"StringEquals": {AUD: "sts.amazonaws.com"}, "StringLike": {SUB: ["repo:org/*", "*"]}}
    exact_wildcard = {"StringEquals": {SUB: "repo:*"}}
    assert trust_findings(policy(None, broad, exact_wildcard), PROVIDER) == (
        TrustFinding("warn", NO_AUD, "statement 1"),
        TrustFinding("fail", NO_SUB, "statement 1"),
        TrustFinding(
            "warn",
            "The sub pattern 'repo:org/*' matches every repository of 'org': name the repository.",
            "statement 2",
        ),
        TrustFinding(
            "fail",
            "The sub pattern '*' matches repositories of any owner on GitHub.",
            "statement 2",
        ),
        TrustFinding("warn", NO_AUD, "statement 3"),
    )


def test_statements_that_do_not_let_this_provider_in_are_not_judged() -> None:
    other = "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"
    assert trust_findings(policy(None), other) == ()
    assert trust_findings(policy(None, Effect="Deny"), PROVIDER) == ()
    assert trust_findings(policy(None, Action="sts:AssumeRole"), PROVIDER) == ()
    mixed = parse_policy(
        {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:*"},
                       {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {SUB: "repo:o/a:ref:x"}}}]}
    )  # fmt: skip
    assert trust_findings(mixed, PROVIDER) == (TrustFinding("warn", NO_AUD, "statement 2"),)


def test_a_provider_of_its_own_host_names_its_keys() -> None:
    ghes = "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token"
    host = "ghe.example.com/_services/token"
    condition = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": "repo:o/a"}}
    statement = parse_policy(
        {
            "Statement": {
                "Effect": "Allow",
                "Principal": {"Federated": ghes},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        }
    )
    assert trust_findings(statement, ghes) == ()
    (no_sub,) = trust_findings(policy({"StringEquals": {AUD: "x"}}), PROVIDER)
    assert no_sub == TrustFinding("fail", NO_SUB, "statement 1")


def test_the_suggested_statement() -> None:
    main = "repo:org/app:ref:refs/heads/main"
    assert suggest_trust_statement(PROVIDER, [main]) == {
        "Sid": "GitHubActionsOidc",
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {AUD: "sts.amazonaws.com", SUB: main}},
    }
    assert suggest_trust_statement(PROVIDER, ["repo:org/app:*"], audience="x")["Condition"] == {
        "StringEquals": {AUD: "x"},
        "StringLike": {SUB: "repo:org/app:*"},
    }


@pytest.mark.parametrize(
    ("provider", "subjects", "message"),
    [
        (HOST, ["repo:o/a:*"], f"not an OIDC provider ARN: '{HOST}'"),
        (SHORT, ["repo:o/a:*"], f"not an OIDC provider ARN: '{SHORT}'"),
        (PROVIDER, [], "name at least one subject, e.g. repo:ORG/REPO:ref:refs/heads/main"),
    ],
)
def test_a_suggestion_refuses_bad_input(provider: str, subjects: list[str], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        suggest_trust_statement(provider, subjects)
    assert str(refused.value) == message
