"""Which GitHub token claims AWS STS puts in the request context of AssumeRoleWithWebIdentity.

Sources (read 2026-10):
- AWS What's New, "AWS STS supports validation of identity provider claims" (2026-01,
  https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/):
  for GitHub, STS passes `actor`, `actor_id`, `job_workflow_ref`, `repository`,
  `repository_id`, `workflow`, `ref`, `environment` and `enterprise_id` as condition keys
  (`token.actions.githubusercontent.com:<claim>`), in trust policies only ("available in
  session: no"). That is still the whole list for GitHub.
- IAM User Guide, "IAM and AWS STS condition context keys" > "Available keys for OIDC
  federation" (reference_policies_iam-condition-keys.html): `aud`, `sub`, `amr`, `azp`, `oaud`.

Every other claim of GitHub's token (`repository_owner_id`, `workflow_ref`, `event_name`,
`repo_property_*`...) is absent from the request: a positive condition on it never holds,
which is how real teams lock themselves out.
"""

from __future__ import annotations

STS_GITHUB_CLAIMS = frozenset(
    {
        "actor", "actor_id", "job_workflow_ref", "repository", "repository_id", "workflow",
        "ref", "environment", "enterprise_id",
    }
)  # fmt: skip
OIDC_KEYS = frozenset({"aud", "sub", "amr", "azp", "oaud"})

# Claims only the run itself knows, and why: a condition on them "depends on who runs it".
RUN_TIME_CLAIMS = {
    "actor": "who triggers the run",
    "actor_id": "who triggers the run",
    "enterprise_id": "the enterprise GitHub puts in the token when it issues it",
}

# What to test instead of a claim STS does not pass.
INSTEAD = {
    "repository_owner_id": "the immutable `sub` (repo:OWNER@OWNER_ID/REPO@REPO_ID:...) or "
    "`repository_id`",
    "workflow_ref": "`job_workflow_ref`",
    "repository_owner": "`sub` or `repository`",
    "event_name": "`sub` (`...:pull_request` for pull requests)",
    "ref_type": "`ref` (refs/heads/... or refs/tags/...)",
    "repository_visibility": "`repository_id` (name the repositories you trust)",
    "iss": "the role's `Principal.Federated` (the provider already fixes the issuer)",
}


def claim_of(key: str, host: str) -> str | None:
    """The claim a condition key names for this provider (`host:claim`), else None."""
    head, sep, claim = key.rpartition(":")
    return claim if sep and head.lower() == host.lower() else None


def passed_by_sts(claim: str) -> bool:
    """Whether STS puts this GitHub claim in the request context (names are case-sensitive)."""
    return claim in STS_GITHUB_CLAIMS or claim in OIDC_KEYS


def instead_of(claim: str) -> str:
    """What a trust policy should test instead of a claim STS does not pass."""
    if claim.startswith(("repo_property_", "repository_custom_properties")):
        return "`repository_id` or the `sub` (custom properties never reach AWS)"
    return INSTEAD.get(claim, "`sub`, `repository_id`, `ref`, `environment` or `job_workflow_ref`")
