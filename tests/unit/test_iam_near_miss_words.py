"""Why a GitHub job's token fails a trust condition, in the words `/ecr diagnose` shows
(`bot.domain.iam.near_misses`). Each sentence tells the user what to change in the trust policy
or in the workflow, so each one is pinned, word for word (issue #17's mutation floor)."""

from __future__ import annotations

import pytest

from bot.domain.iam.near_misses import explain_entry, explain_subject

MAIN = "repo:org/app:ref:refs/heads/main"
PROD = "repo:org/app:environment:prod"
IDS = "repo:org@11/app@22:ref:refs/heads/main"
LITERAL = "which IAM compares literally: use StringLike"
IMMUTABLE = "GitHub's immutable form repo:OWNER@ID/REPO@ID:..."
ENV_REF = "a job that names an environment gets repo:ORG/REPO:environment:NAME, not its ref"

SUBJECTS = [
    # A wildcard under StringEquals is literal text; said alone when it would otherwise match.
    (
        "StringEquals",
        "repo:org/app:*",
        MAIN,
        [f"uses a wildcard under StringEquals, {LITERAL} for 'repo:org/app:*'"],
    ),
    (
        "StringEqualsIgnoreCase",
        "repo:ORG/app:*",
        MAIN,
        [f"uses a wildcard under StringEqualsIgnoreCase, {LITERAL} for 'repo:ORG/app:*'"],
    ),
    (
        "StringEquals",
        "repo:ORG/app:?ef:*",
        MAIN,
        [
            f"uses a wildcard under StringEquals, {LITERAL} for 'repo:ORG/app:?ef:*'",
            f"matches only if case is ignored: pattern 'repo:ORG/app:?ef:*' vs subject '{MAIN}'",
        ],
    ),
    (
        "StringEquals",
        "repo:org/*:environment:prod",
        MAIN,
        [
            f"uses a wildcard under StringEquals, {LITERAL} for 'repo:org/*:environment:prod'",
            f"expects an environment subject but the job presents a branch ref ({MAIN}): give the "
            "job `environment: prod` or trust its subject",
        ],
    ),
    (
        "StringLike",
        "repo:Org/App:*",
        MAIN,
        [f"matches only if case is ignored: pattern 'repo:Org/App:*' vs subject '{MAIN}'"],
    ),
    (
        "StringEquals",
        "REPO:org/app:ref:refs/heads/main",
        MAIN,
        [
            f"matches only if case is ignored: pattern 'REPO:org/app:ref:refs/heads/main' vs "
            f"subject '{MAIN}'"
        ],
    ),
    # GitHub's immutable subjects (repo:OWNER@ID/REPO@ID:...) against name-only patterns.
    (
        "StringLike",
        "repo:org/app:*",
        IDS,
        [
            f"uses the name-only pattern 'repo:org/app:*' but the subject is {IMMUTABLE} "
            "(repositories created after 2026-07-15, or renamed, transferred or opted in since): "
            f"trust '{IDS}'"
        ],
    ),
    (
        "StringEquals",
        IDS,
        MAIN,
        [
            f"expects {IMMUTABLE} but the job presents the name-only subject '{MAIN}' (the "
            "repository has not moved to immutable subjects)"
        ],
    ),
    (
        "StringLike",
        "repo:org@11/app@99:*",
        IDS,
        [
            "names the same owner and repository with other IDs: pattern "
            f"'repo:org@11/app@99:*' vs subject '{IDS}' (was the repository or owner recreated, "
            "or its name reused?)"
        ],
    ),
    (
        "StringLike",
        "repo:org@11/app@22:environment:prod",
        IDS,
        [
            f"expects an environment subject but the job presents a branch ref ({IDS}): give the "
            "job `environment: prod` or trust its subject"
        ],
    ),
    (
        "StringLike",
        "repo:org@11/other@22:*",
        IDS,
        [f"allows a different repository: 'org/other', not 'org/app' ({IDS})"],
    ),
    # The parts of a subject: repository, then the kind of context, then its value.
    ("StringEquals", "org/app", MAIN, [f"does not match subject '{MAIN}': pattern 'org/app'"]),
    (
        "StringEquals",
        MAIN,
        "repo:org/app",
        [f"does not match subject 'repo:org/app': pattern '{MAIN}'"],
    ),
    (
        "StringEquals",
        MAIN,
        "org/app:ref:refs/heads/main",
        [f"does not match subject 'org/app:ref:refs/heads/main': pattern '{MAIN}'"],
    ),
    (
        "StringEquals",
        "repo:org/web:ref:refs/heads/main",
        MAIN,
        [f"allows a different repository: 'org/web', not 'org/app' ({MAIN})"],
    ),
    (
        "StringLike",
        "repo:org/ap?",
        MAIN,
        [f"allows a different repository: 'org/ap?', not 'org/app' ({MAIN})"],
    ),
    (
        "StringEquals",
        "repo:org/app",
        MAIN,
        [
            f"names the repository but no ref, environment or pull_request part, which GitHub's "
            f"subject always has ('{MAIN}'): use StringLike 'repo:org/app:*' or the exact subject"
        ],
    ),
    (
        "StringEquals",
        MAIN,
        PROD,
        [f"expects a branch ref but the job presents an environment subject ({PROD}): {ENV_REF}"],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:refs/tags/v1",
        PROD,
        [f"expects a tag ref but the job presents an environment subject ({PROD}): {ENV_REF}"],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:refs/pull/1/merge",
        PROD,
        [f"expects a git ref but the job presents an environment subject ({PROD}): {ENV_REF}"],
    ),
    (
        "StringEquals",
        "repo:org/app:pull_request",
        MAIN,
        [f"expects a pull_request subject but the job presents a branch ref ({MAIN})"],
    ),
    (
        "StringEquals",
        "repo:org/app:job_workflow_ref:x",
        MAIN,
        [f"expects a 'job_workflow_ref' subject but the job presents a branch ref ({MAIN})"],
    ),
    (
        "StringEquals",
        MAIN,
        "repo:org/app:ref:refs/tags/v1",
        ["expects a branch ref but the job presents a tag ref (repo:org/app:ref:refs/tags/v1)"],
    ),
    (
        "StringEquals",
        MAIN,
        "repo:org/app:pull_request",
        [
            "expects a branch ref but the job presents a pull_request subject "
            "(repo:org/app:pull_request)"
        ],
    ),
    (
        "StringEquals",
        MAIN,
        "repo:org/app:workflow:x",
        [
            "expects a branch ref but the job presents a 'workflow' subject "
            "(repo:org/app:workflow:x)"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:environment:staging",
        "repo:org/app:workflow",
        [
            "expects an environment subject but the job presents a 'workflow' subject "
            "(repo:org/app:workflow): give the job `environment: staging` or trust its subject"
        ],
    ),
    # Same kind, other value: which kind is named.
    (
        "StringEquals",
        "repo:org/app:ref:refs/heads/dev",
        MAIN,
        [
            f"allows a different branch: pattern 'repo:org/app:ref:refs/heads/dev' vs subject "
            f"'{MAIN}'"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:refs/heads/main",
        "repo:org/app:ref:refs/tags/v1x",
        ["expects a branch ref but the job presents a tag ref (repo:org/app:ref:refs/tags/v1x)"],
    ),
    (
        "StringLike",
        "repo:org/app:ref:refs/*",
        "repo:org/app:ref:refs/tags/v1",
        [
            "matches only if case is ignored: pattern 'repo:org/app:ref:refs/*' vs subject "
            "'repo:org/app:ref:refs/tags/v1'"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:refs/pulls",
        "repo:org/app:ref:refs/tags/v1",
        [
            "allows a different tag: pattern 'repo:org/app:ref:refs/pulls' vs subject "
            "'repo:org/app:ref:refs/tags/v1'"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:x",
        "repo:org/app:ref:refs/heads/main",
        [
            "allows a different branch: pattern 'repo:org/app:ref:x' vs subject "
            "'repo:org/app:ref:refs/heads/main'"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:environment:staging",
        PROD,
        [
            f"allows a different environment: pattern 'repo:org/app:environment:staging' vs "
            f"subject '{PROD}'"
        ],
    ),
    (
        "StringEquals",
        "repo:org/app:ref:x",
        "repo:org/app:ref:y",
        [
            "allows a different subject: pattern 'repo:org/app:ref:x' vs subject "
            "'repo:org/app:ref:y'"
        ],
    ),
    (
        "StringLike",
        "repo:org/app:?x",
        MAIN,
        [f"allows a different branch: pattern 'repo:org/app:?x' vs subject '{MAIN}'"],
    ),
    (
        "StringLike",
        "repo:org/app:*x",
        "repo:org/app:workflow:y",
        [
            "allows a different subject: pattern 'repo:org/app:*x' vs subject "
            "'repo:org/app:workflow:y'"
        ],
    ),
]


@pytest.mark.parametrize(("base", "pattern", "subject", "reasons"), SUBJECTS)
def test_why_a_subject_fails_a_pattern(
    base: str, pattern: str, subject: str, reasons: list[str]
) -> None:
    assert explain_subject(base, pattern, subject) == reasons


SUB, AUD = "token.actions.githubusercontent.com:sub", "token.actions.githubusercontent.com:aud"
REQUEST = {SUB: MAIN, AUD: "sts.amazonaws.com", "aws:username": (), "team": ("a", "b")}
UNRESOLVED = (
    "which this request cannot resolve, so AWS treats the statement as invalid for it (IAM "
    "only sees the token claims it supports as condition keys)"
)

ENTRIES = [
    (("Null", "aws:SourceIp", ("true",)), ["requires aws:SourceIp to be absent (Null)"]),
    (("Null", "aws:SourceIp", ("TRUE",)), ["requires aws:SourceIp to be absent (Null)"]),
    (("Null", SUB, ("false",)), [f"requires {SUB} to be present (Null)"]),
    (("Null", SUB, ("false", "true")), [f"requires {SUB} to be absent (Null)"]),
    (
        ("StringLike", SUB, ("repo:${aws:username}/*", "${x}${x}${y}")),
        [f"uses the policy variable ${{aws:username}}, ${{x}}, ${{y}}, {UNRESOLVED}"],
    ),
    (
        ("StringLike", SUB, ("repo:${a b}",)),
        [f"uses the policy variable in 'repo:${{a b}}', {UNRESOLVED}"],
    ),
    (
        ("StringEquals", "token.actions.githubusercontent.com:actor", ("octocat",)),
        [
            "requires token.actions.githubusercontent.com:actor, which this request does not carry "
            "(IAM only sees the token claims it supports as condition keys)"
        ],
    ),
    (
        ("StringEquals", "aws:username", ("a",)),
        [
            "requires aws:username, which this request does not carry (IAM only sees the token "
            "claims it supports as condition keys)"
        ],
    ),
    (
        ("StringEquals", "team", ("a",)),
        [
            "compares the several values of team with the single-valued StringEquals: use "
            "ForAnyValue:StringEquals or ForAllValues:StringEquals"
        ],
    ),
    (
        ("ForAnyValue:StringEquals", "TEAM", ("c", "d")),
        ["requires TEAM ForAnyValue:StringEquals 'c', 'd' but the request has 'a'"],
    ),
    (
        ("StringNotLike", SUB, ("repo:org/*", "x")),
        [f"excludes {SUB} '{MAIN}' with StringNotLike 'repo:org/*', 'x'"],
    ),
    (
        ("StringEquals", AUD.upper(), ("https://github.com/org",)),
        [
            "audience 'sts.amazonaws.com' not allowed: the statement expects 'https://github.com/org'"
            " (GitHub's old docs used the owner's URL; aws-actions/configure-aws-credentials "
            "requests 'sts.amazonaws.com')"
        ],
    ),
    (
        ("StringEquals", AUD, ("sts", "x")),
        ["audience 'sts.amazonaws.com' not allowed: the statement expects 'sts', 'x'"],
    ),
    (
        ("StringLike", SUB.upper(), ("repo:org/web:*", "repo:org/web:ref:*", "repo:Org/app:*")),
        [
            f"allows a different repository: 'org/web', not 'org/app' ({MAIN})",
            f"matches only if case is ignored: pattern 'repo:Org/app:*' vs subject '{MAIN}'",
        ],
    ),
    (
        ("StringEqualsIgnoreCase", SUB, ("repo:org/app:ref:refs/heads/dev",)),
        [
            f"allows a different branch: pattern 'repo:org/app:ref:refs/heads/dev' vs subject "
            f"'{MAIN}'"
        ],
    ),
    (
        ("StringEquals", SUB, ("repo:org/app:*",)),
        [f"uses a wildcard under StringEquals, {LITERAL} for 'repo:org/app:*'"],
    ),
    (
        ("ArnLike", SUB, ("repo:org/web:*",)),
        [f"requires {SUB} ArnLike 'repo:org/web:*' but the request has '{MAIN}'"],
    ),
    (
        ("StringNotEquals", AUD, ("x",)),
        [f"excludes {AUD} 'sts.amazonaws.com' with StringNotEquals 'x'"],
    ),
]


@pytest.mark.parametrize(("entry", "reasons"), ENTRIES)
def test_why_a_condition_entry_fails(
    entry: tuple[str, str, tuple[str, ...]], reasons: list[str]
) -> None:
    assert explain_entry(entry, REQUEST, subject_key=SUB, audience_key=AUD) == reasons


def test_a_policy_without_variables_reads_them_literally() -> None:
    entry = ("StringLike", SUB, ("${x}",))
    assert explain_entry(entry, REQUEST, subject_key=SUB, audience_key=AUD, variables=False) == [
        f"does not match subject '{MAIN}': pattern '${{x}}'"
    ]
    assert explain_entry(entry, REQUEST, subject_key=SUB, audience_key=AUD) == [
        f"uses the policy variable ${{x}}, {UNRESOLVED}"
    ]
