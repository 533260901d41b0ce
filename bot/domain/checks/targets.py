"""release.targets: the repository each environment's promotion copies into exists in that
environment's registry, and its repository policy doesn't refuse the copy's pushes. A promotion
that would fail there (RepositoryNotFoundException, AccessDenied) is found before anyone asks
for one, with the command that fixes it."""

from __future__ import annotations

from bot.domain.checks.common import repository_arn
from bot.domain.checks.model import AppFacts, CheckResult, Status, TargetRepository
from bot.domain.checks.registry import app_check
from bot.domain.iam.evaluation import Documents, Principal, decide, push_context
from bot.domain.iam.permissions import PUSH_ACTIONS
from bot.domain.iam.policy import Policy, Unreadable
from bot.domain.iam.role_trust import principal_arn

CHECK = "release.targets"


@app_check(
    CHECK,
    "each environment's repository exists in its registry, and its repository policy doesn't "
    "refuse the promotion's pushes",
)
def release_targets(facts: AppFacts) -> list[CheckResult]:
    caller = facts.bot_principal.value if facts.bot_principal.ok else None
    bot = principal_arn(caller) if caller else None
    return [_one(target, target.pusher or bot) for target in facts.targets]


def _one(target: TargetRepository, pusher: str | None) -> CheckResult:
    where = (
        f"{target.environment}'s repository {target.repository} "
        f"({target.registry}: account {target.account_id}, {target.region})"
    )
    if not target.found.ok:
        return CheckResult(
            CHECK,
            Status.WARN,
            f"Could not read {where}: {target.found.error}",
            "Check that the bot may assume the registry's role and read ECR there "
            "(trust.bot_roles), then run diagnose again.",
            target.repository,
        )
    if target.found.value is None:
        return CheckResult(
            CHECK,
            Status.FAIL,
            f"{where} does not exist: a promotion to {target.environment} fails with "
            "RepositoryNotFoundException.",
            f"In account {target.account_id}: aws ecr create-repository --repository-name "
            f"{target.repository} --region {target.region} --image-tag-mutability IMMUTABLE",
            target.repository,
        )
    policy = target.policy.value if target.policy.ok else None
    if not target.policy.ok or isinstance(policy, Unreadable):
        why = policy.reason if isinstance(policy, Unreadable) else target.policy.error
        return CheckResult(
            CHECK,
            Status.WARN,
            f"{where} exists; its repository policy could not be read: {why}",
            "Read it in that account: aws ecr get-repository-policy --repository-name "
            f"{target.repository} --region {target.region}",
            target.repository,
        )
    denied = _denied(target, pusher, policy) if policy is not None and pusher else []
    if denied:
        return CheckResult(
            CHECK,
            Status.FAIL,
            f"{where} exists, but its repository policy refuses the promotion's pushes: "
            + "; ".join(denied),
            f"Remove or narrow that Deny for {pusher} (the role a promotion pushes as).",
            target.repository,
        )
    return CheckResult(
        CHECK,
        Status.PASS,
        f"{where} exists"
        + ("; its repository policy refuses none of the promotion's pushes" if policy else ""),
        "",
        target.repository,
    )


def _denied(target: TargetRepository, pusher: str, policy: Policy) -> list[str]:
    """The push actions an explicit Deny of the repository policy refuses to `pusher` (its
    identity policies, in that account, are not read: only the repository's word is judged)."""
    resource = repository_arn(target.region, target.account_id, target.repository)
    context = push_context(pusher, "role", region=target.region, resource_account=target.account_id)
    principal = Principal(pusher, "role", context)
    documents = Documents(identity=None, repository=policy)
    found = []
    for action in PUSH_ACTIONS:
        if action == "ecr:GetAuthorizationToken":
            continue  # it takes no resource: a repository policy can't refuse it
        decision = decide(principal, documents, action, resource, target.account_id)
        if decision.allowed is False and decision.source == "repository":
            found.append(f"{action} ({decision.decided_by})")
    return found
