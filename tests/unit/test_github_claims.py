"""Which GitHub claims reach AWS STS, and what to test instead (bot/domain/iam/github_claims.py)."""

from __future__ import annotations

import pytest

from bot.domain.iam.github_claims import claim_of, instead_of, passed_by_sts

HOST = "token.actions.githubusercontent.com"
JOB_REF = "`job_workflow_ref`"


@pytest.mark.parametrize(
    ("key", "claim"),
    [
        (f"{HOST}:sub", "sub"),
        ("Token.Actions.GitHubUserContent.com:aud", "aud"),  # keys are case-insensitive
        (f"{HOST}:job_workflow_ref", "job_workflow_ref"),
        ("aws:PrincipalOrgID", None),  # another provider's (or AWS's) key
        (HOST, None),  # no claim named
        (f"{HOST}:sub:extra", None),  # the claim is after the last colon: `sub:extra` isn't
    ],
)
def test_a_condition_key_names_a_claim_of_this_provider_only(key: str, claim: str | None) -> None:
    assert claim_of(key, HOST) == claim


def test_only_the_documented_claims_reach_sts() -> None:
    assert passed_by_sts("repository_id") and passed_by_sts("sub")
    assert not passed_by_sts("repository_owner_id")
    assert not passed_by_sts("Repository_ID")  # claim names are case-sensitive


@pytest.mark.parametrize(
    ("claim", "instead"),
    [
        ("repo_property_team", "`repository_id` or the `sub` (custom properties never reach AWS)"),
        (
            "repository_custom_properties_team",
            "`repository_id` or the `sub` (custom properties never reach AWS)",
        ),
        ("workflow_ref", "`job_workflow_ref`"),
        ("runner_environment", "`sub`, `repository_id`, `ref`, `environment` or " + JOB_REF),
    ],
)
def test_each_claim_sts_drops_has_a_suggestion(claim: str, instead: str) -> None:
    assert instead_of(claim) == instead
