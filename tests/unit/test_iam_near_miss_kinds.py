"""The kinds of GitHub subject a near miss names (`bot.domain.iam.near_misses`): a context that
starts with a wildcard is "any subject", an environment's name is everything after its first
colon (issue #17's mutation floor; the wording itself is in test_iam_near_miss_words.py)."""

from __future__ import annotations

import pytest

from bot.domain.iam.near_misses import _kind, explain_subject

MAIN = "repo:org/app:ref:refs/heads/main"


@pytest.mark.parametrize(
    ("pattern", "subject", "reason"),
    [
        ("repo:org/app:*x", MAIN, f"allows a different branch: pattern 'repo:org/app:*x' vs "
         f"subject '{MAIN}'"),
        (MAIN, "repo:org/app:*x", "expects a branch ref but the job presents any subject "
         "(repo:org/app:*x)"),
        (MAIN, "repo:org/app:?x", "expects a branch ref but the job presents any subject "
         "(repo:org/app:?x)"),
        ("repo:org/app:environment:a:b", MAIN, "expects an environment subject but the job "
         f"presents a branch ref ({MAIN}): give the job `environment: a:b` or trust its subject"),
    ],
)  # fmt: skip
def test_subject_kinds(pattern: str, subject: str, reason: str) -> None:
    assert explain_subject("StringLike", pattern, subject) == [reason]


@pytest.mark.parametrize(
    ("context", "kind"),
    [
        ("*", ("any", "any subject")),
        ("?ef:x", ("any", "any subject")),
        ("ref:refs/heads/main", ("branch", "a branch ref")),
        ("ref:refs/tags/v1", ("tag", "a tag ref")),
        ("environment:prod", ("environment", "an environment subject")),
        ("pull_request", ("pull_request", "a pull_request subject")),
        ("ref:refs/pull/1/merge", ("ref", "a git ref")),
        ("workflow:ci:x", ("other", "a 'workflow' subject")),
    ],
)
def test_the_kind_of_a_subject_context(context: str, kind: tuple[str, str]) -> None:
    assert _kind(context) == kind
