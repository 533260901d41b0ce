"""IAM identity policies: may a role or user push to a repository, and how broadly (diagnose)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.iam.conditions import has_wildcard
from bot.domain.iam.policy import Policy, Statement, covers_action, covers_resource, statement_label

PUSH_ACTIONS: tuple[str, ...] = (
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)
# Actions whose only resource is "*": IAM checks them against "*", never against a repository.
_ACCOUNT_WIDE_ACTIONS = frozenset({"ecr:getauthorizationtoken"})
_REPOSITORY_ARN = re.compile(r"arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9._/-]+")


@dataclass(frozen=True)
class ActionDecision:
    """Whether the identity policies allow one action on the resource, and through what."""

    action: str
    allowed: bool
    via: str


def evaluate_permissions(
    policies: Mapping[str, Policy], actions: Sequence[str], resource: str
) -> dict[str, ActionDecision]:
    """Decide each action on the resource under the role's identity policies (Deny wins)."""
    return {action: _decide(policies, action, resource) for action in actions}


def _decide(policies: Mapping[str, Policy], action: str, resource: str) -> ActionDecision:
    target = "*" if action.lower() in _ACCOUNT_WIDE_ACTIONS else resource
    allows: list[str] = []
    conditional_allows: list[str] = []
    conditional_denies: list[str] = []
    for name, policy in policies.items():
        for index, statement in enumerate(policy.statements):
            if not (covers_action(statement, action) and covers_resource(statement, target)):
                continue
            where = f"policy '{name}' {statement_label(statement, index)}"
            if statement.conditions:
                # We cannot know the request's context (tags, source IP, MFA...): say so.
                where += f" only under conditions ({_describe(statement)})"
                if statement.effect == "Deny":
                    conditional_denies.append(where)
                else:
                    conditional_allows.append(where)
            elif statement.effect == "Deny":
                return ActionDecision(action, False, f"denied by {where}")
            else:
                allows.append(where)
    caveat = "".join(f"; denied by {where}" for where in conditional_denies)
    if allows or conditional_allows:
        return ActionDecision(
            action, True, f"allowed by {(allows + conditional_allows)[0]}{caveat}"
        )
    return ActionDecision(action, False, f"no statement allows it on {target} (implicit deny)")


def _describe(statement: Statement) -> str:
    return ", ".join(
        f"{operator} {key}" for operator, keys in statement.conditions.items() for key in keys
    )


def broad_push_grants(policies: Mapping[str, Policy], actions: Sequence[str]) -> tuple[str, ...]:
    """Sentences naming push actions granted on every repository or through action wildcards."""
    sentences = []
    for name, policy in policies.items():
        for index, st in enumerate(policy.statements):
            granted = [
                a
                for a in actions
                if st.effect == "Allow"
                and covers_action(st, a)
                and (a.lower() not in _ACCOUNT_WIDE_ACTIONS or covers_resource(st, "*"))
            ]
            # Granted by a wildcard or a NotAction rather than by the action's own name.
            named = {p.lower() for p in st.actions}
            through = [a for a in granted if a.lower() not in named]
            broad = [p for p in st.resources if p.rpartition(":")[2] in ("*", "repository/*")]
            broad += ["NotResource"] if st.not_resources else []
            everywhere = [a for a in granted if broad and a.lower() not in _ACCOUNT_WIDE_ACTIONS]
            if not (through or everywhere):
                continue
            wild = [p for p in st.actions if has_wildcard(p)] or ["NotAction"]
            how = ["through " + ", ".join(f"'{p}'" for p in wild)] if through else []
            how += ["on " + ", ".join(f"'{p}'" for p in broad)] if everywhere else []
            listed = ", ".join(a for a in granted if a in through or a in everywhere)
            sentences.append(
                f"Policy '{name}' {statement_label(st, index)} grants {listed} "
                f"{' '.join(how)}: grant the push actions by name on the repository's ARN "
                f"(only ecr:GetAuthorizationToken needs '*')."
            )
    return tuple(sentences)


PREFLIGHT_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def least_privilege_policy(repository_arn: str) -> dict[str, Any]:
    """The runbook's least-privilege push policy for one repository, ready to paste."""
    if not _REPOSITORY_ARN.fullmatch(repository_arn):
        raise ValueError(
            f"not an ECR repository ARN: {repository_arn!r} "
            "(expected arn:aws:ecr:REGION:ACCOUNT:repository/NAME)"
        )
    grants = (
        ("GetAuthorizationToken", PUSH_ACTIONS[0], "*"),  # it has no resource but "*"
        ("PushToRepository", list(PUSH_ACTIONS[1:]), repository_arn),
        # What `ecrbot push` reads besides pushing: the repository's URI and mutability, and the
        # revision label of an existing tag (pre-flight) through the registry API.
        ("ReadForPreflight", list(PREFLIGHT_ACTIONS), repository_arn),
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
            for sid, action, resource in grants
        ],
    }
