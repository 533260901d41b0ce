"""AWS access: the OIDC provider, the role's trust policy, least privilege, long-lived keys."""

from __future__ import annotations

import json

from bot.domain.checks.common import could_not, provider_arn, repository_arn, skipped
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.workflow import aws_jobs
from bot.domain.iam.trust import (
    PUSH_ACTIONS,
    OidcRequest,
    broad_push_grants,
    evaluate_permissions,
    evaluate_trust,
    least_privilege_policy,
    suggest_trust_statement,
    trust_findings,
)

AUDIENCE = "sts.amazonaws.com"
GITHUB = "token.actions.githubusercontent.com"


def oidc_provider(facts: AppFacts) -> list[CheckResult]:
    arn = provider_arn(facts.account_id)
    if not facts.provider.ok:
        return [could_not("oidc.provider", facts.provider, arn)]
    provider = facts.provider.value
    if provider is None:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"Account {facts.account_id} has no OIDC provider for {GITHUB}.",
                f"aws iam create-open-id-connect-provider --url https://{GITHUB} "
                f"--client-id-list {AUDIENCE}",
                arn,
            )
        ]
    if AUDIENCE not in provider.audiences:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"{provider.arn} does not list the audience {AUDIENCE} "
                f"(it lists {', '.join(provider.audiences) or 'none'}).",
                f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "
                f"{provider.arn} --client-id {AUDIENCE}",
                provider.arn,
            )
        ]
    return [
        CheckResult(
            "oidc.provider",
            Status.PASS,
            f"{provider.arn} exists and lists {AUDIENCE}.",
            resource=provider.arn,
        )
    ]


def subjects(facts: AppFacts) -> list[tuple[str, str | None]]:
    """The `sub` claims the app's role must accept, with the job presenting each."""
    found: dict[str, str | None] = {}
    if facts.github:
        for job in aws_jobs(facts):
            if facts.role_arn and any(
                s.role_to_assume not in (None, facts.role_arn)
                and "${{" not in str(s.role_to_assume)
                for s in job.aws_steps
            ):
                continue  # that job assumes another role
            for subject in job.subjects(facts.github, facts.branch):
                found.setdefault(subject, f"{job.workflow}#{job.job_id}")
        if facts.environment:
            found.setdefault(f"repo:{facts.github}:environment:{facts.environment}", None)
        if not found:
            found[f"repo:{facts.github}:ref:refs/heads/{facts.branch}"] = None
    return list(found.items())


def trust_policy(facts: AppFacts) -> list[CheckResult]:
    if not facts.role_arn:
        return [skipped("trust.role", "The catalog names no CI role for this app.", facts.app)]
    if not facts.role.ok:
        return [could_not("trust.role", facts.role, facts.role_arn)]
    role = facts.role.value
    if role is None:
        return [
            CheckResult(
                "trust.role",
                Status.FAIL,
                f"Role {facts.role_arn} does not exist.",
                "Create it with the trust statement below, or fix `role` in the catalog.",
                facts.role_arn,
            )
        ]
    if not facts.github:
        return [
            skipped(
                "trust.subject", "No GitHub repository known: set `github: owner/repo`.", role.arn
            )
        ]
    arn = provider_arn(facts.account_id)
    wanted = subjects(facts)
    statement = json.dumps(suggest_trust_statement(arn, [s for s, _ in wanted], AUDIENCE), indent=2)
    results = []
    for subject, job in wanted:
        decision = evaluate_trust(role.trust, OidcRequest(arn, subject, AUDIENCE))
        misses = "".join(f" Near miss: {miss}" for miss in decision.near_misses)
        results.append(
            CheckResult(
                "trust.subject",
                Status.PASS if decision.allowed else Status.FAIL,
                f"{role.arn} {'trusts' if decision.allowed else 'does not trust'} {subject}"
                f"{f' ({job})' if job else ''}: {decision.reason}{misses}",
                ""
                if decision.allowed
                else f"Add this statement to the role's trust policy:\n{statement}",
                role.arn,
                job.split("#", 1)[1] if job else None,
            )
        )
    for finding in trust_findings(role.trust, arn):
        results.append(
            CheckResult(
                "trust.hygiene",
                Status.FAIL if finding.severity == "fail" else Status.WARN,
                f"{role.arn}: {finding.message} ({finding.statement})",
                f"Narrow the statement to the app's own subjects:\n{statement}",
                role.arn,
            )
        )
    return results


def least_privilege(facts: AppFacts) -> list[CheckResult]:
    if not facts.role_arn or not facts.role.ok or facts.role.value is None:
        return []  # trust.role already says why
    role = facts.role.value
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    decisions = evaluate_permissions(role.policies, PUSH_ACTIONS, repo)
    missing = [a for a in PUSH_ACTIONS if not decisions[a].allowed]
    fix = json.dumps(least_privilege_policy(repo), indent=2)
    results = [
        CheckResult(
            "privilege.push",
            Status.FAIL if missing else Status.PASS,
            f"{role.arn} may not {', '.join(missing)} on {repo}."
            if missing
            else f"{role.arn} may push to {repo}.",
            f"Attach this policy to the role:\n{fix}" if missing else "",
            role.arn,
        )
    ]
    for grant in broad_push_grants(role.policies, PUSH_ACTIONS):
        results.append(
            CheckResult(
                "privilege.scope",
                Status.WARN,
                f"{role.arn}: {grant}",
                f"Scope the push actions to {repo}:\n{fix}",
                role.arn,
            )
        )
    return results


def long_lived_keys(facts: AppFacts) -> list[CheckResult]:
    if not facts.key_users.ok:
        return [could_not("keys.long_lived", facts.key_users)]
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    results = []
    for user in facts.key_users.value or ():
        decisions = evaluate_permissions(user.policies, PUSH_ACTIONS[1:], repo)
        if any(d.allowed for d in decisions.values()):
            keys = ", ".join(user.active_keys)
            results.append(
                CheckResult(
                    "keys.long_lived",
                    Status.FAIL,
                    f"IAM user {user.name} has active access keys ({keys}) and can push to {repo}.",
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
