"""Long-lived keys: IAM users with active access keys who could push, in AWS's evaluation order
(their identity policies and boundary, the repository policy, the account's SCPs)."""

from __future__ import annotations

from bot.domain.checks.common import could_not, repository_arn
from bot.domain.checks.model import AppFacts, CheckResult, KeyUser, Status
from bot.domain.checks.privilege import REPOSITORY_ACTIONS, account_of, decisions_for, grouped
from bot.domain.checks.registry import app_check
from bot.domain.iam.evaluation import Documents, Principal, close_tags, push_context
from bot.domain.iam.policy import Policy


@app_check(
    "keys.long_lived",
    "no IAM user with active access keys can push to the repository (its boundary and the "
    "repository policy included)",
)
def long_lived_keys(facts: AppFacts) -> list[CheckResult]:
    if not facts.key_users.ok:
        return [could_not("keys.long_lived", facts.key_users)]
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    results = []
    for user in facts.key_users.value or ():
        decisions = decisions_for(*_user_request(facts, user), facts, REPOSITORY_ACTIONS)
        allowed = [d for d in decisions.values() if d.allowed]
        if allowed:
            keys = ", ".join(user.active_keys)
            results.append(
                CheckResult(
                    "keys.long_lived",
                    Status.FAIL,
                    f"IAM user {user.name} has active access keys ({keys}) and can push to {repo} "
                    f"({'; '.join(grouped(allowed))}).",
                    "Move the pipeline to OIDC (id-token: write + role-to-assume), then: "
                    + "; ".join(
                        f"aws iam update-access-key --user-name {user.name} "
                        f"--access-key-id {key} --status Inactive"
                        for key in user.active_keys
                    ),
                    f"user/{user.name}",
                )
            )
    return results or [
        CheckResult(
            "keys.long_lived",
            Status.PASS,
            f"No IAM user with active access keys can push to {repo}.",
            resource=repo,
        )
    ]


def _user_request(facts: AppFacts, user: KeyUser) -> tuple[Principal, Documents]:
    arn = user.arn or f"arn:aws:iam::{facts.account_id}:user/{user.name}"
    repository = facts.repository_policy.value if facts.repository_policy.ok else None
    org = facts.organization
    # The SCPs were read for the role's account: they are the users' too when it is this one.
    same_account = account_of(facts.role_arn or "") == facts.account_id
    boundary = user.boundary
    documents = Documents(
        identity=user.policies,
        boundary=(boundary.arn, boundary.policy) if boundary and boundary.policy else None,
        repository=repository if isinstance(repository, Policy) else None,
        scps=facts.scps.value if facts.scps.ok and same_account else None,
        unreadable=user.skipped,
    )
    context = push_context(
        arn,
        "user",
        region=facts.region,
        resource_account=facts.account_id,
        org_id=((org.value.id if org.value else None) if org.ok else "unknown"),
        tags=user.tags,
    )
    principal = Principal(arn, "user", close_tags(context, documents), user.boundary is not None)
    return principal, documents
