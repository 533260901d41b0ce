"""What `/ecr diagnose` says of a role's trust policy (`bot.domain.iam.trust`): the verdict on a
GitHub job's AssumeRoleWithWebIdentity, the near misses that say what to change, the claims the
answer waits on, and the request context it is judged against, word for word (issue #17's
mutation floor)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.trust import (
    OidcRequest,
    _request_context,
    evaluate_trust,
    is_negated_entry,
    parse_policy,
)

GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
HOST = "token.actions.githubusercontent.com"
SUB, AUD, ACTOR = f"{HOST}:sub", f"{HOST}:aud", f"{HOST}:actor"
MAIN = "repo:org/app:ref:refs/heads/main"
FEDERATED = {"Federated": GITHUB}
WEB = "sts:AssumeRoleWithWebIdentity"


def trust(*statements: dict[str, Any]) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def st(condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    raw = {"Effect": "Allow", "Principal": FEDERATED, "Action": WEB, **extra}
    return {**raw, "Condition": condition} if condition else raw


def request(subject: str = MAIN, **extra: Any) -> OidcRequest:
    return OidcRequest(GITHUB, subject, **extra)


ONLY_MAIN = {"StringEquals": {SUB: MAIN}}
BY_OCTOCAT = {"StringEquals": {ACTOR: "octocat"}}
RUN = {"actor": "who triggers the run"}


def test_an_allow_names_its_statement() -> None:
    decision = evaluate_trust(trust(st({"StringEquals": {SUB: "x"}}), st(Sid="gh")), request())
    assert decision.allowed is True and decision.near_misses == () and decision.depends == ()
    assert decision.reason == f"Statement 'gh' allows subject '{MAIN}' to assume the role."
    first = evaluate_trust(trust(st(ONLY_MAIN), st()), request())
    assert first.reason == f"Statement 1 allows subject '{MAIN}' to assume the role."
    service = {"Effect": "Allow", "Principal": {"Service": "ec2"}, "Action": "sts:AssumeRole"}
    after = evaluate_trust(trust(service, st()), request())
    assert after.reason == f"Statement 2 allows subject '{MAIN}' to assume the role."


def test_a_2008_trust_policy_compares_a_variable_as_text() -> None:
    old = parse_policy({"Statement": st({"StringEquals": {SUB: "${x}"}})})
    assert evaluate_trust(old, request("${x}")).allowed
    new = trust(st({"StringEquals": {SUB: "${x}"}}))
    assert not evaluate_trust(new, request("${x}")).allowed


def test_an_explicit_deny_wins_wherever_it_is() -> None:
    decision = evaluate_trust(trust(st(), st(Effect="Deny", Sid="noMain")), request())
    assert decision.allowed is False
    assert decision.reason == (
        f"Statement 'noMain' explicitly denies subject '{MAIN}', and an explicit Deny overrides "
        "every Allow."
    )
    other = evaluate_trust(trust(st(), st({"StringEquals": {SUB: "x"}}, Effect="Deny")), request())
    assert other.allowed is True


def test_a_claim_only_the_run_knows_makes_the_answer_depend_on_it() -> None:
    waits = (
        f'statement 1: "StringEquals": {{"{ACTOR}": ["octocat"]}} depends on who triggers the run',
    )
    maybe = evaluate_trust(trust(st(BY_OCTOCAT), st(BY_OCTOCAT)), request(unknown=RUN))
    assert (maybe.allowed, maybe.near_misses) == (False, ())
    assert maybe.reason == (
        f"Whether subject '{MAIN}' may assume the role depends on claims known only when the "
        "job runs."
    )
    assert maybe.depends == (waits[0], waits[0].replace("statement 1", "statement 2"))
    # An allow that holds waits only on the denies that may apply.
    guarded = trust(st(), st(BY_OCTOCAT, Effect="Deny"), st(BY_OCTOCAT, Effect="Deny", Sid="x"))
    decision = evaluate_trust(guarded, request(unknown=RUN))
    assert decision.allowed is False and decision.depends == (
        waits[0].replace("statement 1", "statement 2"),
        waits[0].replace("statement 1", "statement 'x'"),
    )
    # Known, the claim decides.
    assert evaluate_trust(trust(st(BY_OCTOCAT)), request(extra={"actor": "octocat"})).allowed
    # The same entry listed twice is waited on once.
    same = trust(st(BY_OCTOCAT, Sid="a"), st(BY_OCTOCAT, Sid="a"))
    assert len(evaluate_trust(same, request(unknown=RUN)).depends) == 1


def test_a_deny_on_a_known_claim_that_does_not_hold_waits_on_nothing() -> None:
    decision = evaluate_trust(trust(st(), st(BY_OCTOCAT, Effect="Deny")), request())
    assert decision.allowed is True and decision.depends == ()


@pytest.mark.parametrize(
    ("principal", "trusted"),
    [
        ({"Principal": "*"}, True),
        ({"Principal": {"Federated": "*"}}, True),
        ({"Principal": {"Federated": ["arn:aws:iam::1:oidc-provider/x", GITHUB]}}, True),
        ({"Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}}, False),
        ({"Principal": {"AWS": "*"}}, False),
        ({"NotPrincipal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}}, True),
        ({"NotPrincipal": {"AWS": "*"}}, True),
        ({"NotPrincipal": {"Federated": GITHUB}}, False),
    ],
)
def test_which_principals_let_the_provider_in(principal: dict[str, Any], trusted: bool) -> None:
    statement = {"Effect": "Allow", "Action": WEB, **principal}
    assert evaluate_trust(trust(statement), request()).allowed is trusted


def test_nothing_allows_it() -> None:
    decision = evaluate_trust(trust(st(ONLY_MAIN)), request("repo:org/app:ref:refs/heads/dev"))
    assert decision.allowed is False and decision.depends == ()
    assert decision.reason == (
        f"No statement allows {WEB} from {GITHUB} for subject 'repo:org/app:ref:refs/heads/dev'."
    )
    assert decision.near_misses == (
        f"Statement 1 allows a different branch: pattern '{MAIN}' vs subject "
        "'repo:org/app:ref:refs/heads/dev'",
    )


OTHER_ACCOUNT = "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"
GITLAB = "arn:aws:iam::123456789012:oidc-provider/gitlab.com"
NOT_PASSED = (
    "a claim AWS STS does not put in the request context (for GitHub it passes only sub, aud, "
    "actor, actor_id, job_workflow_ref, repository, repository_id, workflow, ref, environment "
    "and enterprise_id), so the condition can never hold"
)

MISSES: list[tuple[str, list[dict[str, Any]], tuple[str, ...]]] = [
    (
        "another action",
        [st(Action=["sts:AssumeRole", "sts:TagSession"])],
        (f"Statement 1 allows sts:AssumeRole, sts:TagSession, but OIDC federation calls {WEB}",),
    ),
    (
        "NotAction",
        [{"Effect": "Allow", "Principal": FEDERATED, "NotAction": "sts:*"}],
        (f"Statement 1 allows sts:*, but OIDC federation calls {WEB}",),
    ),
    (
        "a statement for a service, and denies, are not near misses",
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Allow", "Principal": {"Service": "ec2"}, "Action": "sts:TagSession"},
            st({"StringEquals": {SUB: "x"}}, Effect="Deny"),
        ],
        (),
    ),
    (
        "other providers",
        [st(Principal={"Federated": [GITLAB, OTHER_ACCOUNT, HOST, "gitlab.com"]}, Sid="s")],
        (
            f"Statement 's' trusts another provider ({GITLAB}), not {GITHUB}",
            f"Statement 's' trusts another provider ({OTHER_ACCOUNT}): the same provider in "
            "account 999999999999, not 123456789012",
            f"Statement 's' names the provider as '{HOST}'; Principal.Federated needs its ARN "
            f"{GITHUB}",
            f"Statement 's' trusts another provider (gitlab.com), not {GITHUB}",
        ),
    ),
    (
        "no provider",
        [st(Principal={"AWS": "arn:aws:iam::123456789012:root"})],
        ("Statement 1 trusts no web identity provider",),
    ),
    (
        "a claim STS does not pass",
        [st({"StringEquals": {f"{HOST}:repository_owner": "org", f"{HOST}:iss": "x"}})],
        (
            f"Statement 1 tests {HOST}:repository_owner, {NOT_PASSED}: test `sub` or "
            "`repository` instead",
            f"Statement 1 tests {HOST}:iss, {NOT_PASSED}: test the role's `Principal.Federated` "
            "(the provider already fixes the issuer) instead",
        ),
    ),
    (
        "a negated entry on a claim STS does not pass says nothing",
        [st({"StringNotEquals": {f"{HOST}:event_name": "${aws:username}"}})],
        (),
    ),
    (
        "an unknown claim is undecided, and the other entries are explained",
        [st({"StringEquals": {ACTOR: "octocat", SUB: "repo:org/app:ref:refs/heads/dev"}})],
        (
            "Statement 1 allows a different branch: pattern 'repo:org/app:ref:refs/heads/dev' "
            f"vs subject '{MAIN}'",
        ),
    ),
    (
        "the audience, each reason once",
        [
            st({"StringEquals": {AUD: "https://github.com/org"}}, Sid="a"),
            st({"StringEquals": {AUD: "https://github.com/org"}}, Sid="a"),
        ],
        (
            "Statement 'a' audience 'sts.amazonaws.com' not allowed: the statement expects "
            "'https://github.com/org' (GitHub's old docs used the owner's URL; "
            "aws-actions/configure-aws-credentials requests 'sts.amazonaws.com')",
        ),
    ),
    (
        "a condition that holds through a variable is no near miss",
        [st({"StringLike": {SUB: "repo:org/web:*", AUD: f"${{{AUD}}}"}})],
        (f"Statement 1 allows a different repository: 'org/web', not 'org/app' ({MAIN})",),
    ),
    (
        "a claim STS passes but the job lacks",
        [st({"StringEquals": {f"{HOST}:environment": "prod"}})],
        (
            f"Statement 1 requires {HOST}:environment, which this request does not carry (IAM "
            "only sees the token claims it supports as condition keys)",
        ),
    ),
]


@pytest.mark.parametrize(
    ("statements", "misses"), [case[1:] for case in MISSES], ids=[case[0] for case in MISSES]
)
def test_near_misses_say_what_to_change(
    statements: list[dict[str, Any]], misses: tuple[str, ...]
) -> None:
    decision = evaluate_trust(trust(*statements), request(unknown=RUN))
    assert decision.allowed is False and decision.near_misses == misses


def test_variables_of_a_2008_policy_are_literal_in_near_misses() -> None:
    old = parse_policy({"Statement": st({"StringLike": {SUB: "${x}"}})})
    assert evaluate_trust(old, request()).near_misses == (
        f"Statement 1 does not match subject '{MAIN}': pattern '${{x}}'",
    )
    # "${x}" is the audience's own text there: that entry holds, only the subject misses.
    both = {AUD: "${x}", SUB: "repo:org/web:ref:refs/heads/main"}
    holds = parse_policy({"Statement": st({"StringEquals": both})})
    assert evaluate_trust(holds, request(audience="${x}")).near_misses == (
        f"Statement 1 allows a different repository: 'org/web', not 'org/app' ({MAIN})",
    )


@pytest.mark.parametrize(
    ("operator", "negated"),
    [
        ("StringNotEquals", True),
        ("StringEqualsIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("StringEquals", False),
        ("ForAnyValue:StringEquals", False),
        ("Null", False),
    ],
)
def test_which_operators_hold_for_a_missing_key(operator: str, negated: bool) -> None:
    assert is_negated_entry(operator) is negated


def test_the_request_context_sts_builds() -> None:
    policy = trust(
        st({"StringEquals": {f"{HOST}:Environment": "prod", "aws:SourceIp": "${aws:username}"}}),
        st({"StringLike": {ACTOR: "x", f"{HOST}:workflow": "w"}}),
    )
    extra = {"workflow": "ci", f"{HOST}:ref": "refs/heads/main", "aws:x": "1", "event_name": "e"}
    context = _request_context(request(audience="aud", extra=extra, unknown=RUN), policy)
    assert context == {
        SUB: MAIN,
        AUD: "aud",
        f"{HOST}:workflow": "ci",
        f"{HOST}:ref": "refs/heads/main",
        "aws:x": "1",
        f"{HOST}:Environment": (),
        "aws:SourceIp": (),
        "aws:username": (),
    }
    ghes = "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token"
    host = "ghe.example.com/_services/token"
    assert _request_context(OidcRequest(ghes, MAIN, extra={"repository": "org/app"})) == {
        f"{host}:sub": MAIN,
        f"{host}:aud": "sts.amazonaws.com",
        f"{host}:repository": "org/app",
    }
    # A provider ARN that is not one: GitHub's own host names the keys.
    assert list(_request_context(OidcRequest("github", MAIN))) == [SUB, AUD]
