"""May the role (and may IAM users with keys) push? The documents AWS evaluates, in its order:
the repository policy, identity policies and the permissions boundary. The organization's SCPs
and AWS's policy simulator are `guardrails.py`'s, on the helpers here."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.domain.checks.common import repository_arn
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.registry import app_check
from bot.domain.iam.evaluation import (
    Decision,
    Documents,
    Principal,
    close_tags,
    decide,
    push_context,
)
from bot.domain.iam.permissions import PUSH_ACTIONS, broad_push_grants, least_privilege_policy
from bot.domain.iam.policy import Unreadable

TOKEN = PUSH_ACTIONS[0]  # ecr:GetAuthorizationToken: no resource, identity policies only
REPOSITORY_ACTIONS = PUSH_ACTIONS[1:]


def account_of(arn: str) -> str:
    return arn.split(":")[4] if arn.count(":") >= 5 else ""


def role_request(facts: AppFacts) -> tuple[Principal, Documents, list[str]] | None:
    """The CI role as AWS sees its pushes, every document that applies, and what is missing."""
    if not facts.role_arn:
        return None
    cross = account_of(facts.role_arn) != facts.account_id
    role = facts.role.value if facts.role.ok else None
    if role is None and not cross:
        return None  # trust.role says why
    missing = []
    repository = facts.repository_policy.value if facts.repository_policy.ok else None
    if not facts.repository_policy.ok:
        missing.append(f"the repository policy could not be read ({facts.repository_policy.error})")
    unreadable: list[Unreadable] = list(role.skipped) if role else []
    if isinstance(repository, Unreadable):
        unreadable.append(repository)
        repository = None
    org = facts.organization
    org_id: str | None = (org.value.id if org.value else None) if org.ok else "unknown"
    context = push_context(
        facts.role_arn,
        "role",
        region=facts.region,
        resource_account=facts.account_id,
        org_id="unknown" if cross else org_id,
        tags=role.tags if role else None,
    )
    boundary = role.boundary if role else None
    documents = Documents(
        identity=role.policies if role else None,
        boundary=(boundary.arn, boundary.policy) if boundary and boundary.policy else None,
        repository=repository,
        scps=facts.scps.value if facts.scps.ok else None,
        unreadable=tuple(unreadable),
    )
    known = close_tags(context, documents) if role is not None else context
    principal = Principal(facts.role_arn, "role", known, boundary=boundary is not None)
    return principal, documents, missing


def decisions_for(
    principal: Principal, documents: Documents, facts: AppFacts, actions: tuple[str, ...]
) -> dict[str, Decision]:
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    decisions = {}
    for action in actions:
        resource = None if action == TOKEN else repo  # the token takes no resource
        decisions[action] = decide(principal, documents, action, resource, facts.account_id)
    return decisions


def _boundary_unread(facts: AppFacts) -> bool:
    role = facts.role.value if facts.role.ok else None
    return role is not None and role.boundary is not None and role.boundary.policy is None


@app_check(
    "privilege.push",
    "the role may run every push action on the app's repository, under its identity "
    "policies, permissions boundary, the repository policy and SCPs; names the document "
    "that decided",
)
def privilege_push(facts: AppFacts) -> list[CheckResult]:
    """Which document decided each push action (the simulator's deny wins)."""
    request = role_request(facts)
    if request is None:
        return []
    principal, documents, missing = request
    role = facts.role.value if facts.role.ok else None
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    if role is not None and role.boundary is not None and role.boundary.policy is None:
        return [
            CheckResult(
                "privilege.push",
                Status.ERROR,
                f"could not check: the permissions boundary {role.boundary.arn} of "
                f"{principal.arn} could not be read, and it caps every permission.",
                resource=principal.arn,
            )
        ]
    decisions = decisions_for(principal, documents, facts, PUSH_ACTIONS)
    simulated = facts.simulation.value if facts.simulation.ok else None
    for action, decision in decisions.items():
        answer = (simulated or {}).get(action)
        if decision.allowed and answer in ("explicitDeny", "implicitDeny"):
            # Trust the simulator's deny: it sees what ecrbot may have misread.
            decisions[action] = replace(
                decision,
                allowed=False,
                decided_by=f"AWS's policy simulator says {answer} (ecrbot's own evaluation: "
                f"{decision.decided_by})",
                source="simulator",
            )
    boundary = documents.boundary[0] if documents.boundary else None
    return [_push_result(principal, decisions, missing, repo, boundary)]


@app_check("privilege.scope", "push actions are not granted on `*` or through `ecr:*`")
def privilege_scope(facts: AppFacts) -> list[CheckResult]:
    role = facts.role.value if facts.role.ok else None
    # As privilege.push: nothing to say of a role it could not weigh (its boundary unread).
    if role is None or role_request(facts) is None or _boundary_unread(facts):
        return []
    repo = repository_arn(facts.region, facts.account_id, facts.repository_name)
    fix = json.dumps(least_privilege_policy(repo), indent=2)
    return [
        CheckResult(
            "privilege.scope",
            Status.WARN,
            f"{role.arn}: {grant}",
            f"Scope the push actions to {repo}:\n{fix}",
            role.arn,
        )
        for grant in broad_push_grants(role.policies, PUSH_ACTIONS)
    ]


def _push_result(
    principal: Principal,
    decisions: dict[str, Decision],
    missing: list[str],
    repo: str,
    boundary: str | None,
) -> CheckResult:
    denied = [d for d in decisions.values() if d.allowed is False]
    unknown = [d for d in decisions.values() if d.allowed is None]
    caveats = list(dict.fromkeys(c for d in decisions.values() for c in d.caveats))
    shown = "; ".join(grouped(denied or unknown or list(decisions.values())))
    tail = "".join(f" Note: {item}." for item in [*missing, *caveats])
    if denied:
        return CheckResult(
            "privilege.push",
            Status.FAIL,
            f"{principal.arn} may not push to {repo}: {shown}.{tail}",
            fix_for(denied, principal, repo, boundary),
            principal.arn,
        )
    if unknown:
        return CheckResult(
            "privilege.push",
            Status.ERROR,
            f"could not check: {shown}.{tail}",
            resource=principal.arn,
        )
    status = Status.WARN if missing or any("was not read" in c for c in caveats) else Status.PASS
    return CheckResult(
        "privilege.push",
        status,
        f"{principal.arn} may push to {repo}: {shown}.{tail}",
        "" if status is Status.PASS else "Read the documents named above, then run diagnose again.",
        principal.arn,
    )


def grouped(decisions: list[Decision]) -> list[str]:
    """Actions that the same document decided, in one clause each."""
    groups: dict[str, list[str]] = {}
    for decision in decisions:
        groups.setdefault(decision.decided_by, []).append(decision.action)
    return [f"{', '.join(actions)}: {why}" for why, actions in groups.items()]


def fix_for(
    denied: list[Decision], principal: Principal, repo: str, boundary: str | None = None
) -> str:
    sources = {d.source for d in denied}
    name = repo.rsplit("/", 1)[-1]
    account = repo.split(":")[4]
    fixes = []
    if "repository" in sources:
        statement = {
            "Sid": "PushFromCi",
            "Effect": "Allow",
            "Principal": {"AWS": principal.arn},
            "Action": list(REPOSITORY_ACTIONS),
        }
        fixes.append(
            "Allow the role in the repository policy, and remove any Deny that matches it "
            f"(aws ecr get-repository-policy --repository-name {name} --registry-id {account}; "
            f"then set-repository-policy with this statement added):\n"
            + json.dumps(statement, indent=2)
        )
    if "boundary" in sources and boundary is not None:
        fixes.append(
            f"Allow the push actions in the permissions boundary {boundary} too (a boundary "
            "only ever removes permissions): add these statements to a new default version "
            f"(aws iam create-policy-version --policy-arn {boundary} --set-as-default "
            "--policy-document file://boundary.json):\n"
            + json.dumps(least_privilege_policy(repo)["Statement"], indent=2)
        )
    if "scp" in sources:
        fixes.append(
            "An SCP of the organization stops it: ask the organization's administrators to "
            "allow the push actions for this role (for example with an exception on "
            "aws:PrincipalArn)."
        )
    if "simulator" in sources:
        fixes.append("Run `aws iam simulate-principal-policy` to see which document denies.")
    if sources & {"none", "identity"} or not fixes:
        fixes.append(
            "Attach this policy to the role:\n" + json.dumps(least_privilege_policy(repo), indent=2)
        )
    return "\n\n".join(fixes)
