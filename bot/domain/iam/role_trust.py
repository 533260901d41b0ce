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
    return {
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": _account(principal),
        "aws:TagKeys": tuple(tag_keys),
        "sts:TransitiveTagKeys": tuple(tag_keys),
    }


def trust_verdicts(policy: Policy, principal: str, context: Context) -> tuple[Verdict, ...]:
    """The verdict of `policy` on each of ACTIONS for `principal` (a role or user ARN)."""
    return tuple(_verdict(policy, principal, action, context) for action in ACTIONS)


def _verdict(policy: Policy, principal: str, action: str, context: Context) -> Verdict:
    allow: Verdict | None = None
    for index, statement in enumerate(policy.statements):
        caveat = _names(statement, principal)
        if caveat is None or not covers_action(statement, action):
            continue
        state = conditions_state(statement.conditions, context, variables=statement.variables)
        if state is False:
            continue
        label = statement_label(statement, index)
        if statement.effect == "Deny":
            if state is True:
                return Verdict(action, False, f"explicitly denied by {label}")
            continue
        found = Verdict(action, True if state is True else None, f"allowed by {label}{caveat}")
        if allow is None or (allow.allowed is None and found.allowed):
            allow = found
    return allow or Verdict(action, False, "no statement of the trust policy allows it")


def _names(statement: Statement, principal: str) -> str | None:
    """None if the statement does not name the principal; else what its verdict adds: nothing
    if it names the principal (or everyone), that the bot's own policy decides too if it names
    only the principal's account.

    A NotPrincipal statement has no Principal (`parse_policy` refuses both), and a service or
    federated principal no "AWS" entry: neither names the bot."""
    if "*" in statement.principal:
        return ""  # "Principal": "*"
    aws = statement.principal.get("AWS", ())
    if "*" in aws or any(_role_named(listed, principal) for listed in aws):
        return ""
    account = _account(principal)
    named = {account, f"arn:aws:iam::{account}:root"} & set(aws)
    return " (it names the account: the bot's own policy must allow it too)" if named else None


def _account(arn: str) -> str:
    """An ARN's account (its fifth field); "" for what is not an ARN."""
    return arn.split(":")[4] if arn.count(":") >= 5 else ""


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
