"""IAM policy evaluation for `/ecr diagnose`, on trust and permission policies found in the wild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.domain.iam.trust import (
    PUSH_ACTIONS,
    OidcRequest,
    Policy,
    PolicyError,
    broad_push_grants,
    conditions_match,
    evaluate_permissions,
    evaluate_trust,
    least_privilege_policy,
    parse_policy,
    suggest_trust_statement,
    trust_findings,
)

DATA = Path(__file__).parent.parent / "data" / "iam"
TRUST = json.loads((DATA / "trust_policies.json").read_text())
PERMISSIONS = json.loads((DATA / "permission_policies.json").read_text())
DOCS_PROVIDER = "arn:aws:iam::123456123456:oidc-provider/token.actions.githubusercontent.com"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
SUB = "token.actions.githubusercontent.com:sub"
AUD = "token.actions.githubusercontent.com:aud"
REPO = "arn:aws:ecr:eu-west-2:123456789012:repository/my-app"


def trust(name: str) -> Policy:
    return parse_policy(TRUST[name]["document"])


def permissions(*names: str) -> dict[str, Policy]:
    return {name: parse_policy(PERMISSIONS[name]["document"]) for name in names}


def assume(name: str, subject: str, provider: str = PROVIDER, **kwargs: Any) -> Any:
    return evaluate_trust(trust(name), OidcRequest(provider, subject, **kwargs))


def one_miss(decision: Any) -> str:
    assert not decision.allowed
    assert len(decision.near_misses) == 1, decision.near_misses
    return str(decision.near_misses[0])


def test_every_collected_policy_names_its_source_and_parses() -> None:
    for collection in (TRUST, PERMISSIONS):
        for name, entry in collection.items():
            if name.startswith("_"):
                continue
            assert entry["_source"], name
            assert parse_policy(entry["document"]).statements, name


# --- Reading documents ---


def test_url_encoded_json_strings_and_dicts_read_the_same() -> None:
    as_dict = parse_policy(PERMISSIONS["dxw_least_privilege"]["document"])
    encoded = PERMISSIONS["dxw_least_privilege_urlencoded"]["document"]
    assert encoded.startswith("%7B")
    assert parse_policy(encoded) == as_dict
    assert parse_policy(json.dumps(PERMISSIONS["dxw_least_privilege"]["document"])) == as_dict


def test_url_decoding_happens_once_and_never_to_raw_json() -> None:
    # GitHub escapes ":" inside an environment name as %3A; that must survive both paths.
    statement = {
        "Effect": "Allow",
        "Action": "sts:*",
        "Condition": {"StringEquals": {SUB: "x%3Ay"}},
    }
    raw = json.dumps({"Statement": statement})
    for text in (raw, quote(raw, safe="")):
        assert parse_policy(text).statements[0].conditions == {"StringEquals": {SUB: ("x%3Ay",)}}


def test_a_single_statement_object_and_json_scalars_are_accepted() -> None:
    policy = parse_policy(
        {"Statement": {"Effect": "Deny", "Action": "s3:*", "Condition": {"Null": {"k": True}}}}
    )
    (statement,) = policy.statements
    assert statement.actions == ("s3:*",)
    assert statement.conditions == {"Null": {"k": ("true",)}}
    assert statement.principal == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ({"Version": "2012-10-17"}, "has no Statement"),
        ({"Statement": "nope"}, "object or a list"),
        ({"Statement": [{"Effect": "allow", "Action": "x"}]}, 'Effect must be "Allow" or "Deny"'),
        ({"Statement": [{"Effect": "Allow"}]}, "neither Action nor NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": "a", "NotAction": "b"}]}, "both Action"),
        ({"Statement": [{"Effect": "Allow", "Action": ["a", {}]}]}, "statement 1: Action must"),
        ({"Statement": [{"Effect": "Allow", "Action": "a", "Principal": ["x"]}]}, "Principal"),
        (
            {"Statement": [{"Effect": "Allow", "Action": "a", "Condition": {"StringSorta": {}}}]},
            "unknown condition operator 'StringSorta'",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "a", "Condition": {"Maybe:StringLike": {}}}
                ]
            },
            "unknown condition set operator 'Maybe'",
        ),
    ],
)
def test_malformed_documents_say_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(document)
    assert issubclass(PolicyError, ValueError)


# --- Condition blocks ---


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("repo:o/r:*", "repo:o/r:", True),  # `*` matches an empty run
        ("repo:o/r:?", "repo:o/r:", False),  # `?` needs exactly one character
        ("repo:o/r:ref:refs/heads/v?", "repo:o/r:ref:refs/heads/v2", True),
        ("repo:o/r:ref:refs/heads/v?", "repo:o/r:ref:refs/heads/v10", False),
        ("repo:o/[r]:*", "repo:o/[r]:pull_request", True),  # brackets are not a character class
        ("repo:o/r:${*}", "repo:o/r:*", True),  # IAM's escape for a literal star
        ("repo:o/r:${*}", "repo:o/r:main", False),
    ],
)
def test_string_like_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert conditions_match({"StringLike": {SUB: (pattern,)}}, {SUB: value}) is expected


def test_values_are_or_keys_and_operators_are_and() -> None:
    block: dict[str, dict[str, tuple[str, ...]]] = {
        "StringEquals": {AUD: ("sts.amazonaws.com",), SUB: ("repo:a/b:pull_request", "repo:a/c:x")},
        "StringLike": {"token.actions.githubusercontent.com:actor": ("octo*",)},
    }
    good = {
        SUB: "repo:a/c:x",
        AUD: "sts.amazonaws.com",
        "token.actions.githubusercontent.com:actor": "octocat",
    }
    assert conditions_match(block, good)
    assert not conditions_match(block, {**good, AUD: "https://github.com/a"})
    assert not conditions_match(block, {**good, "token.actions.githubusercontent.com:actor": "bob"})


def test_keys_are_case_insensitive_but_values_are_not() -> None:
    block = {
        "StringEquals": {"Token.Actions.GithubUserContent.com:SUB": ("repo:a/b:pull_request",)}
    }
    assert conditions_match(block, {SUB: "repo:a/b:pull_request"})
    assert not conditions_match(block, {SUB: "repo:A/b:pull_request"})
    assert conditions_match(
        {"StringEqualsIgnoreCase": {SUB: ("REPO:A/B:PULL_REQUEST",)}},
        {SUB: "repo:a/b:pull_request"},
    )


def test_a_star_under_string_equals_is_literal() -> None:
    assert not conditions_match(
        {"StringEquals": {SUB: ("repo:a/b:*",)}}, {SUB: "repo:a/b:pull_request"}
    )
    assert conditions_match({"StringEquals": {SUB: ("repo:a/b:*",)}}, {SUB: "repo:a/b:*"})
    assert conditions_match({"StringEquals": {SUB: "repo:a/b:*"}}, {SUB: "repo:a/b:*"})  # lone str


def test_if_exists_and_negated_operators_on_a_missing_key() -> None:
    key = "aws:SourceVpc"
    assert conditions_match({"StringEqualsIfExists": {key: ("vpc-1",)}}, {})
    assert not conditions_match({"StringEqualsIfExists": {key: ("vpc-1",)}}, {key: "vpc-2"})
    assert not conditions_match({"StringEquals": {key: ("vpc-1",)}}, {})
    assert conditions_match({"StringNotEquals": {key: ("vpc-1",)}}, {})
    # Several values under a negated operator: the value must match none of them (NOR).
    assert not conditions_match({"StringNotLike": {key: ("vpc-1", "vpc-2")}}, {key: "vpc-2"})
    assert conditions_match({"StringNotLike": {key: ("vpc-1", "vpc-2")}}, {key: "vpc-3"})


def test_null_checks_presence() -> None:
    key = "aws:TokenIssueTime"
    assert conditions_match({"Null": {key: ("true",)}}, {})
    assert not conditions_match({"Null": {key: ("true",)}}, {key: "2026-01-01T00:00:00Z"})
    assert conditions_match({"Null": {key: ("false",)}}, {key: "2026-01-01T00:00:00Z"})


def test_set_operators() -> None:
    key = "aws:TagKeys"
    # ForAllValues over a key the request lacks is true; ForAnyValue over it is false.
    assert conditions_match({"ForAllValues:StringEquals": {key: ("team",)}}, {})
    assert not conditions_match({"ForAnyValue:StringEquals": {key: ("team",)}}, {})
    assert conditions_match({"ForAllValues:StringEquals": {key: ("team", "env")}}, {key: ["team"]})
    assert not conditions_match(
        {"ForAllValues:StringEquals": {key: ("team",)}}, {key: ["team", "x"]}
    )
    assert conditions_match({"ForAnyValue:StringLike": {key: ("t*",)}}, {key: ["x", "team"]})
    # A single-valued key is a one-element set.
    assert conditions_match({"ForAnyValue:StringLike": {SUB: ("repo:a/*",)}}, {SUB: "repo:a/b:x"})


@pytest.mark.parametrize(
    ("operator", "policy", "request_value", "expected"),
    [
        ("ArnLike", "arn:aws:iam::*:role/ci-*", "arn:aws:iam::123456789012:role/ci-push", True),
        ("ArnLike", "arn:aws:iam::*", "arn:aws:iam::123456789012:role/x", False),  # six parts
        ("IpAddress", "203.0.113.0/24", "203.0.113.9", True),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NumericLessThan", "3600", "600", True),
        ("DateGreaterThan", "2026-07-15T00:00:00Z", "2026-08-01T00:00:00Z", True),
        ("Bool", "true", "True", True),
        ("NumericEquals", "1", "not a number", False),
    ],
)
def test_other_operator_families(
    operator: str, policy: str, request_value: str, expected: bool
) -> None:
    assert conditions_match({operator: {"k": (policy,)}}, {"k": request_value}) is expected


# --- Trust: may the GitHub job assume the role? ---


def test_the_documented_example_allows_its_branch_and_no_other() -> None:
    ok = assume(
        "github_docs_branch", "repo:octo-org/octo-repo:ref:refs/heads/octo-branch", DOCS_PROVIDER
    )
    assert ok.allowed and ok.reason.startswith("Statement 1 allows")
    other = assume(
        "github_docs_branch", "repo:octo-org/octo-repo:ref:refs/heads/main", DOCS_PROVIDER
    )
    assert "No statement allows sts:AssumeRoleWithWebIdentity" in other.reason
    assert one_miss(other).startswith("Statement 1 allows a different branch:")


@pytest.mark.parametrize(
    "subject",
    [
        "repo:octo-org/octo-repo:ref:refs/heads/main",
        "repo:octo-org/octo-repo:ref:refs/tags/v1.4.0",
        "repo:octo-org/octo-repo:environment:prod",
        "repo:octo-org/octo-repo:pull_request",
    ],
)
def test_string_like_repo_star_allows_every_subject_of_the_repo(subject: str) -> None:
    assert assume("github_docs_stringlike", subject, DOCS_PROVIDER).allowed


def test_string_like_repo_star_refuses_another_repo() -> None:
    decision = assume(
        "github_docs_stringlike", "repo:octo-org/octo-app:pull_request", DOCS_PROVIDER
    )
    assert (
        "allows a different repository: 'octo-org/octo-repo', not 'octo-org/octo-app'"
        in one_miss(decision)
    )


def test_a_list_of_subjects_is_an_or() -> None:
    assert assume("gitbook_subject_list", "repo:acme/app:ref:refs/heads/main").allowed
    assert assume("gitbook_subject_list", "repo:acme/app:pull_request").allowed
    refused = assume("gitbook_subject_list", "repo:acme/app:ref:refs/heads/develop")
    assert any("allows a different branch" in miss for miss in refused.near_misses)


def test_sub_and_aud_must_both_match() -> None:
    subject = "repo:octo-org/octo-repo:ref:refs/heads/octo-branch"
    decision = assume("github_docs_branch", subject, DOCS_PROVIDER, audience="sts.amazonaws.com.cn")
    assert one_miss(decision) == (
        "Statement 1 audience 'sts.amazonaws.com.cn' not allowed: the statement expects "
        "'sts.amazonaws.com'"
    )


def test_for_any_value_string_like_over_the_subject() -> None:
    assert assume("gist_for_any_value", "repo:guitarrapc/infra:ref:refs/heads/main").allowed
    assert assume("gist_for_any_value", "repo:guitarrapc/website:pull_request").allowed
    assert not assume("gist_for_any_value", "repo:guitarrapc/blog:pull_request").allowed


def test_an_explicit_deny_wins_over_the_allow() -> None:
    denied = assume("deny_pull_requests", "repo:octo-org/octo-repo:pull_request", DOCS_PROVIDER)
    assert not denied.allowed
    assert denied.reason.startswith("Statement 'NoPullRequests' explicitly denies")
    assert denied.near_misses == ()
    main = assume(
        "deny_pull_requests", "repo:octo-org/octo-repo:ref:refs/heads/main", DOCS_PROVIDER
    )
    assert main.allowed and "'AnyRefOfTheRepo'" in main.reason


def test_case_mismatch_is_a_near_miss() -> None:
    decision = assume("configure_aws_credentials_cfn", "repo:acme/app:ref:refs/heads/main")
    assert one_miss(decision) == (
        "Statement 1 matches only if case is ignored: pattern 'repo:Acme/App:*' vs subject "
        "'repo:acme/app:ref:refs/heads/main'"
    )
    org = assume("issue_318_org_wildcard", "repo:my-org/service:ref:refs/heads/main")
    assert "matches only if case is ignored" in one_miss(org)
    other = assume("issue_318_org_wildcard", "repo:Other-ORG/service:ref:refs/heads/main")
    assert "allows a different repository: 'My-ORG/*', not 'Other-ORG/service'" in one_miss(other)


def test_a_wildcard_under_string_equals_is_a_near_miss() -> None:
    decision = assume(
        "issue_454_wildcard_under_stringequals", "repo:octo-org/octo-repo:ref:refs/heads/main"
    )
    assert one_miss(decision) == (
        "Statement 1 uses a wildcard under StringEquals, which IAM compares literally: "
        "use StringLike for 'repo:octo-org/octo-repo:*'"
    )


def test_a_branch_pattern_against_an_environment_job() -> None:
    decision = assume("issue_511_branch", "repo:MYORG/operations:environment:production")
    assert one_miss(decision).startswith(
        "Statement 'RoleForGitHubActions' expects a branch ref but the job presents an environment "
        "subject (repo:MYORG/operations:environment:production)"
    )
    zeros = "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"
    wildcard_branches = assume(
        "issue_452_environment", "repo:myorganization/infra:environment:prod", zeros
    )
    assert "expects a branch ref but the job presents an environment subject" in one_miss(
        wildcard_branches
    )


def test_an_environment_pattern_against_a_branch_job() -> None:
    decision = assume(
        "github_docs_environment", "repo:octo-org/octo-repo:ref:refs/heads/main", DOCS_PROVIDER
    )
    assert one_miss(decision).startswith(
        "Statement 1 expects an environment subject but the job presents a branch ref "
        "(repo:octo-org/octo-repo:ref:refs/heads/main): give the job `environment: prod`"
    )


def test_a_name_only_pattern_against_an_immutable_subject() -> None:
    subject = "repo:octo-org@123456/octo-repo@456789:ref:refs/heads/feature"
    decision = assume("github_docs_stringlike", subject, DOCS_PROVIDER)
    miss = one_miss(decision)
    assert "uses the name-only pattern 'repo:octo-org/octo-repo:*'" in miss
    assert "GitHub's immutable form repo:OWNER@ID/REPO@ID:..." in miss
    assert "2026-07-15" in miss


def test_an_immutable_pattern_against_a_name_only_subject_and_reused_names() -> None:
    name_only = assume(
        "github_docs_immutable", "repo:octo-org/octo-repo:ref:refs/heads/demo-branch", DOCS_PROVIDER
    )
    assert "expects GitHub's immutable form" in one_miss(name_only)
    recreated = assume(
        "github_docs_immutable",
        "repo:octo-org@123456/octo-repo@999999:ref:refs/heads/demo-branch",
        DOCS_PROVIDER,
    )
    assert "names the same owner and repository with other IDs" in one_miss(recreated)
    exact = "repo:octo-org@123456/octo-repo@456789:ref:refs/heads/demo-branch"
    assert assume("github_docs_immutable", exact, DOCS_PROVIDER).allowed


def test_another_provider_is_named() -> None:
    other_account = "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"
    decision = assume(
        "github_docs_stringlike", "repo:octo-org/octo-repo:pull_request", other_account
    )
    assert one_miss(decision) == (
        f"Statement 1 trusts another provider ({DOCS_PROVIDER}): the same provider in account "
        "123456123456, not 999999999999"
    )


def test_the_old_org_url_audience_gets_a_hint() -> None:
    decision = assume(
        "issue_318_audience_url",
        "repo:my-org/app:ref:refs/heads/main",
        "arn:aws:iam::123456789:oidc-provider/token.actions.githubusercontent.com",
    )
    miss = one_miss(decision)
    assert miss.startswith("Statement 1 audience 'sts.amazonaws.com' not allowed")
    assert "configure-aws-credentials requests 'sts.amazonaws.com'" in miss


def test_a_condition_on_a_claim_iam_never_sees() -> None:
    subject = "repo:sample-org/sample-repo:environment:dev"
    decision = assume("issue_672_iss_key", subject)
    # AWS STS passes only its listed GitHub claims (What's New 2026-01, "AWS STS supports
    # validation of identity provider claims"); `iss` is not one of them.
    assert one_miss(decision).startswith(
        "Statement 1 tests token.actions.githubusercontent.com:iss, a claim AWS STS does not put "
        "in the request context"
    )
    # The thread's "working" policy only works because ForAllValues over a missing key is true.
    assert assume("issue_672_working", subject).allowed


def test_extra_claims_join_the_context() -> None:
    provider = "arn:aws:iam::00000000:oidc-provider/token.actions.githubusercontent.com"
    without = assume("issue_306_actor", "repo:tve/x:ref:refs/heads/main", provider)
    assert "requires token.actions.githubusercontent.com:actor" in one_miss(without)
    with_actor = assume(
        "issue_306_actor", "repo:tve/x:ref:refs/heads/main", provider, extra={"actor": "tve"}
    )
    assert with_actor.allowed


def test_a_pattern_without_a_context_part() -> None:
    subject = "repo:ministryofjustice/modernisation-platform-configuration-management:pull_request"
    miss = one_miss(assume("modernisation_platform_no_context", subject))
    assert "names the repository but no ref, environment or pull_request part" in miss
    assert (
        "StringLike 'repo:ministryofjustice/modernisation-platform-configuration-management:*'"
        in miss
    )


def test_a_broken_pattern_still_gets_a_sentence() -> None:
    miss = one_miss(assume("tf_template_literal_repo_prefix", "repo:acme/app:pull_request"))
    assert (
        miss == "Statement 1 does not match subject 'repo:acme/app:pull_request': pattern 'repo:'"
    )


def test_assume_role_instead_of_web_identity_and_unrelated_statements() -> None:
    policy = parse_policy(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                },
                {
                    "Sid": "Ci",
                    "Effect": "Allow",
                    "Principal": {"Federated": PROVIDER},
                    "Action": "sts:AssumeRole",
                },
            ]
        }
    )
    decision = evaluate_trust(policy, OidcRequest(PROVIDER, "repo:a/b:pull_request"))
    assert decision.near_misses == (
        "Statement 'Ci' allows sts:AssumeRole, but OIDC federation calls "
        "sts:AssumeRoleWithWebIdentity",
    )


def test_enterprise_server_providers_use_their_own_condition_keys() -> None:
    provider = "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token"
    statement = suggest_trust_statement(provider, ["repo:acme/app:ref:refs/heads/main"])
    assert statement["Condition"]["StringEquals"] == {
        "ghe.example.com/_services/token:aud": "sts.amazonaws.com",
        "ghe.example.com/_services/token:sub": "repo:acme/app:ref:refs/heads/main",
    }
    policy = parse_policy({"Statement": [statement]})
    assert evaluate_trust(
        policy, OidcRequest(provider, "repo:acme/app:ref:refs/heads/main")
    ).allowed


# --- Trust findings ---


@pytest.mark.parametrize(
    "name", ["github_docs_branch", "github_docs_stringlike", "github_docs_immutable"]
)
def test_the_documented_examples_have_no_findings(name: str) -> None:
    assert trust_findings(trust(name), DOCS_PROVIDER) == ()


def test_missing_aud_warns_and_missing_sub_fails() -> None:
    (no_aud,) = trust_findings(
        trust("issue_271_no_aud"),
        "arn:aws:iam::407461997746:oidc-provider/token.actions.githubusercontent.com",
    )
    assert (no_aud.severity, no_aud.statement) == ("warn", "statement 1")
    assert no_aud.message.startswith("No token.actions.githubusercontent.com:aud condition")
    (no_sub,) = trust_findings(
        trust("issue_306_actor"),
        "arn:aws:iam::00000000:oidc-provider/token.actions.githubusercontent.com",
    )
    assert no_sub.severity == "fail"
    assert "any repository on GitHub could assume the role" in no_sub.message


def test_org_wide_patterns_warn() -> None:
    findings = trust_findings(trust("issue_318_org_wildcard"), PROVIDER)
    assert [(f.severity, f.message.split(":")[0]) for f in findings] == [
        ("warn", "No token.actions.githubusercontent.com"),
        ("warn", "The sub pattern 'repo"),
    ]
    assert "every repository of 'My-ORG'" in findings[1].message
    (org,) = trust_findings(
        trust("issue_452_environment"),
        "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com",
    )
    assert org.severity == "warn" and "'myorganization'" in org.message


@pytest.mark.parametrize("pattern", ["repo:*", "*", "repo:*/app:*", "repo:octo-*/app:*"])
def test_any_owner_patterns_fail(pattern: str) -> None:
    statement = suggest_trust_statement(PROVIDER, [pattern])
    (finding,) = trust_findings(parse_policy({"Statement": [statement]}), PROVIDER)
    assert finding.severity == "fail"
    assert pattern in finding.message


def test_findings_only_look_at_statements_trusting_this_provider() -> None:
    assert trust_findings(trust("issue_318_org_wildcard"), DOCS_PROVIDER) == ()


# --- Suggested trust statements ---


def test_suggested_statement_allows_exactly_its_subjects() -> None:
    subjects = ["repo:acme/app:ref:refs/heads/main", "repo:acme/app:environment:prod"]
    statement = suggest_trust_statement(PROVIDER, subjects)
    assert statement["Condition"] == {"StringEquals": {AUD: "sts.amazonaws.com", SUB: subjects}}
    policy = parse_policy({"Version": "2012-10-17", "Statement": [statement]})
    for subject in subjects:
        assert evaluate_trust(policy, OidcRequest(PROVIDER, subject)).allowed
    assert not evaluate_trust(policy, OidcRequest(PROVIDER, "repo:acme/app:pull_request")).allowed
    assert trust_findings(policy, PROVIDER) == ()


def test_suggested_statement_puts_every_subject_under_string_like_when_one_has_a_wildcard() -> None:
    subjects = ["repo:acme/app:ref:refs/tags/v*", "repo:acme/app:ref:refs/heads/main"]
    statement = suggest_trust_statement(PROVIDER, subjects)
    assert statement["Condition"] == {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringLike": {SUB: subjects},
    }
    policy = parse_policy({"Statement": [statement]})
    assert evaluate_trust(
        policy, OidcRequest(PROVIDER, "repo:acme/app:ref:refs/heads/main")
    ).allowed


def test_suggestions_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="not an OIDC provider ARN"):
        suggest_trust_statement("token.actions.githubusercontent.com", ["repo:a/b:pull_request"])
    with pytest.raises(ValueError, match="at least one subject"):
        suggest_trust_statement(PROVIDER, [])


# --- Permissions ---


def test_ecr_star_on_star_allows_every_push_action_and_is_broad() -> None:
    policies = permissions("full_access")
    decisions = evaluate_permissions(policies, PUSH_ACTIONS, REPO)
    assert all(d.allowed for d in decisions.values())
    assert decisions["ecr:PutImage"].via == "allowed by policy 'full_access' statement 1"
    (grant,) = broad_push_grants(policies, PUSH_ACTIONS)
    assert grant.startswith(
        f"Policy 'full_access' statement 1 grants {', '.join(PUSH_ACTIONS)} through 'ecr:*' on '*'"
    )


def test_power_user_is_broad_on_resources_but_not_for_the_token() -> None:
    policies = permissions("power_user")
    assert all(d.allowed for d in evaluate_permissions(policies, PUSH_ACTIONS, REPO).values())
    (grant,) = broad_push_grants(policies, PUSH_ACTIONS)
    assert f"grants {', '.join(PUSH_ACTIONS[1:])} on '*'" in grant
    (repo_star,) = broad_push_grants(permissions("every_repository_arn"), PUSH_ACTIONS)
    assert "'AllowECRPermissions'" in repo_star and "on 'arn:aws:ecr:*:*:repository/*'" in repo_star


@pytest.mark.parametrize("name", ["dxw_least_privilege", "dxw_least_privilege_urlencoded"])
def test_least_privilege_allows_the_push_and_is_not_broad(name: str) -> None:
    policies = permissions(name)
    decisions = evaluate_permissions(policies, PUSH_ACTIONS, REPO)
    assert [d.allowed for d in decisions.values()] == [True] * 6
    assert decisions["ecr:GetAuthorizationToken"].via == f"allowed by policy '{name}' statement 1"
    assert decisions["ecr:PutImage"].via == f"allowed by policy '{name}' statement 2"
    assert broad_push_grants(policies, PUSH_ACTIONS) == ()


def test_a_policy_for_another_repository_does_not_allow_the_push() -> None:
    policies = permissions("ecr_login_get_token", "ecr_login_push_pull")
    decisions = evaluate_permissions(policies, PUSH_ACTIONS, REPO)
    assert decisions["ecr:GetAuthorizationToken"].allowed
    refused = [a for a, d in decisions.items() if not d.allowed]
    assert refused == list(PUSH_ACTIONS[1:])
    assert decisions["ecr:PutImage"].via == f"no statement allows it on {REPO} (implicit deny)"
    other = "arn:aws:ecr:us-east-1:123456789012:repository/my-ecr-repo"
    assert all(d.allowed for d in evaluate_permissions(policies, PUSH_ACTIONS, other).values())


def test_a_deny_on_put_image_wins() -> None:
    policies = permissions("every_repository_arn", "deny_put_image")
    prod = "arn:aws:ecr:eu-west-2:123456789012:repository/prod-api"
    decisions = evaluate_permissions(policies, PUSH_ACTIONS, prod)
    assert decisions["ecr:PutImage"].allowed is False
    assert (
        decisions["ecr:PutImage"].via
        == "denied by policy 'deny_put_image' statement 'NoPushToProd'"
    )
    assert decisions["ecr:UploadLayerPart"].allowed
    assert evaluate_permissions(policies, ["ecr:putimage"], REPO)["ecr:putimage"].allowed


def test_not_action_grants_everything_else() -> None:
    policies = permissions("aws_power_user_access")
    decisions = evaluate_permissions(
        policies, [*PUSH_ACTIONS, "iam:CreateRole", "iam:ListRoles"], REPO
    )
    assert all(decisions[a].allowed for a in PUSH_ACTIONS)
    assert not decisions["iam:CreateRole"].allowed
    assert decisions["iam:ListRoles"].via == "allowed by policy 'aws_power_user_access' statement 2"
    (grant,) = broad_push_grants(policies, PUSH_ACTIONS)
    assert "through 'NotAction' on '*'" in grant


def test_a_conditional_allow_counts_but_says_so() -> None:
    policies = permissions("ecr_login_get_token", "tag_conditioned_push")
    decision = evaluate_permissions(policies, ["ecr:PutImage"], REPO)["ecr:PutImage"]
    assert decision.allowed
    assert decision.via == (
        "allowed by policy 'tag_conditioned_push' statement 'PushOwnTeam' only under conditions "
        "(StringEquals aws:ResourceTag/team)"
    )


def test_a_conditional_deny_does_not_deny_but_is_mentioned() -> None:
    tls_only = parse_policy(
        {
            "Statement": {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        }
    )
    policies = {**permissions("dxw_least_privilege"), "guard": tls_only}
    decision = evaluate_permissions(policies, ["ecr:PutImage"], REPO)["ecr:PutImage"]
    assert decision.allowed
    assert decision.via.endswith(
        "; denied by policy 'guard' statement 'TlsOnly' only under conditions "
        "(Bool aws:SecureTransport)"
    )


def test_a_repo_name_prefix_is_flagged_too() -> None:
    statement = suggest_trust_statement(PROVIDER, ["repo:acme/app-*"])
    (finding,) = trust_findings(parse_policy({"Statement": [statement]}), PROVIDER)
    assert finding.severity == "warn"
    assert "every repository of 'acme' whose name fits 'app-*'" in finding.message


def test_the_token_action_is_checked_against_star_not_the_repository() -> None:
    policy = parse_policy({"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": REPO}]})
    decisions = evaluate_permissions({"scoped": policy}, PUSH_ACTIONS, REPO)
    assert not decisions["ecr:GetAuthorizationToken"].allowed
    assert (
        decisions["ecr:GetAuthorizationToken"].via == "no statement allows it on * (implicit deny)"
    )
    assert decisions["ecr:PutImage"].allowed
    (grant,) = broad_push_grants({"scoped": policy}, PUSH_ACTIONS)
    assert grant.startswith(
        f"Policy 'scoped' statement 1 grants {', '.join(PUSH_ACTIONS[1:])} through 'ecr:*':"
    )


def test_least_privilege_policy_is_what_the_runbook_means() -> None:
    assert PUSH_ACTIONS[0] == "ecr:GetAuthorizationToken" and len(PUSH_ACTIONS) == 6
    document = least_privilege_policy(REPO)
    policies = {"fix": parse_policy(document)}
    assert all(d.allowed for d in evaluate_permissions(policies, PUSH_ACTIONS, REPO).values())
    other = "arn:aws:ecr:eu-west-2:123456789012:repository/other"
    assert not evaluate_permissions(policies, ["ecr:PutImage"], other)["ecr:PutImage"].allowed
    assert broad_push_grants(policies, PUSH_ACTIONS) == ()
    with pytest.raises(ValueError, match="not an ECR repository ARN"):
        least_privilege_policy("my-app")
