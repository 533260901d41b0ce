"""May the bot assume a role for a person: its trust policy on `sts:AssumeRole`,
`sts:SetSourceIdentity` and `sts:TagSession`, for the bot's own principal.

AWS asks the role's trust policy for each: "To set a source identity, the role's trust policy
must allow sts:SetSourceIdentity" and "to pass session tags ... sts:TagSession" (IAM User Guide,
"Monitor and control actions taken with assumed roles" and "Passing session tags in AWS STS",
read 2026-12). A trust policy that names only the bot's account delegates to the account's
identity policies, which then must allow the action too (ecrbot's `deploy/iam` policy does).
An explicit Deny decides; a condition on a key ecrbot can't know makes the answer "only under
conditions", said rather than guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.iam.conditions import Context, conditions_state
from bot.domain.iam.policy import Policy, Statement, covers_action, statement_label

ACTIONS = ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")
SESSION = re.compile(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+")


@dataclass(frozen=True)
class Verdict:
    """The trust policy's answer to one action (None: only under conditions ecrbot can't
    know), and the statement that decided."""

    action: str
    allowed: bool | None
    why: str


def principal_arn(caller: str) -> str:
    """The ARN a trust policy names for the caller: a role's for one of its sessions (the
    role's path is not in a session's ARN: `role_named` matches any path)."""
    session = SESSION.fullmatch(caller)
    if session:
        return f"arn:{session.group(1)}:iam::{session.group(2)}:role/{session.group(3)}"
    return caller


def request_context(principal: str, tag_keys: Sequence[str]) -> Context:
    """What STS knows of ecrbot's AssumeRole: who calls, which tag keys it passes."""
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    return {
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": account,
        "aws:TagKeys": tuple(tag_keys),
        "sts:TransitiveTagKeys": tuple(tag_keys),
    }


def trust_verdicts(policy: Policy, principal: str, context: Context) -> tuple[Verdict, ...]:
    """The verdict of `policy` on each of ACTIONS for `principal` (a role or user ARN)."""
    return tuple(_verdict(policy, principal, action, context) for action in ACTIONS)


def _verdict(policy: Policy, principal: str, action: str, context: Context) -> Verdict:
    allow: Verdict | None = None
    for index, statement in enumerate(policy.statements):
        whom = _names(statement, principal)
        if whom is None or not covers_action(statement, action):
            continue
        state = conditions_state(statement.conditions, context, variables=statement.variables)
        if state is False:
            continue
        label = statement_label(statement, index)
        if statement.effect == "Deny":
            if state is True:
                return Verdict(action, False, f"explicitly denied by {label}")
            continue
        why = f"allowed by {label}" + (
            " (it names the account: the bot's own policy must allow it too)"
            if whom == "account"
            else ""
        )
        found = Verdict(action, True if state is True else None, why)
        if allow is None or (allow.allowed is None and found.allowed):
            allow = found
    return allow or Verdict(action, False, "no statement of the trust policy allows it")


def _names(statement: Statement, principal: str) -> str | None:
    """`direct` if the statement names the principal (or everyone), `account` if only its
    account, else None."""
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    aws = statement.principal.get("AWS", ())
    if statement.not_principal or ("*" not in statement.principal and not aws):
        return None  # NotPrincipal, or a service or federated principal: not the bot
    if "*" in statement.principal or "*" in aws or any(_role_named(a, principal) for a in aws):
        return "direct"
    return "account" if {account, f"arn:aws:iam::{account}:root"} & set(aws) else None


def _role_named(listed: str, principal: str) -> bool:
    """A trust policy names a role by its ARN with its path; the caller's ARN has none."""
    if listed == principal:
        return True
    prefix, _, name = principal.partition(":role/")
    return bool(name) and listed.startswith(f"{prefix}:role/") and listed.endswith(f"/{name}")


def trust_statement(principal: str) -> str:
    """The statement that lets `principal` assume a role for a person, to paste."""
    statement = {
        "Sid": "EcrbotAssumesForAPerson",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(ACTIONS),
    }
    return json.dumps(statement, indent=2)
