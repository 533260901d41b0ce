"""The SCPs above an account, read from AWS Organizations (only the management account, or a
delegated administrator, may: members are refused, and diagnose says "could not check")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.iam.conditions import PolicyError
from bot.domain.iam.evaluation import OrgLevel
from bot.domain.iam.policy import Policy, Unreadable, parse_policy

# An organization nests OUs five deep under the root (AWS Organizations quotas), and a target
# takes at most five SCPs: beyond these bounds an answer is not one AWS would give.
MAX_LEVELS = 7
MAX_POLICIES = 20


class ScpReader:
    """Reads SCPs with the Organizations client `new_client` makes (one AwsFacts's)."""

    def __init__(self, new_client: Callable[[str], Any]) -> None:
        self._org = new_client("organizations")

    def read(self, account: str) -> tuple[OrgLevel, ...]:
        """Each level's SCPs, root first, then every OU, then the account itself.

        SCPs apply at every level, and an action must be allowed at each ("Service control
        policies (SCPs)", AWS Organizations User Guide): so every level is read, and a policy
        attached at several levels is described once.
        """
        targets = [(f"account {account}", account)]
        child = account
        for _ in range(MAX_LEVELS):
            parents = self._org.list_parents(ChildId=child)["Parents"]
            if not parents:
                break
            parent = parents[0]
            kind = "root" if parent["Type"] == "ROOT" else "OU"
            targets.append((f"{kind} {parent['Id']}", parent["Id"]))
            if parent["Type"] == "ROOT":
                break
            child = parent["Id"]
        described: dict[str, Policy | Unreadable] = {}
        levels = []
        for label, target in reversed(targets):
            policies: dict[str, Policy] = {}
            skipped: list[Unreadable] = []
            for summary in self._attached(target)[:MAX_POLICIES]:
                policy_id, name = summary["Id"], summary.get("Name") or summary["Id"]
                if policy_id not in described:
                    answer = self._org.describe_policy(PolicyId=policy_id)
                    described[policy_id] = _read(f"SCP '{name}'", answer["Policy"]["Content"])
                read = described[policy_id]
                if isinstance(read, Policy):
                    policies[name] = read
                else:
                    skipped.append(read)
            levels.append(OrgLevel(label, policies, tuple(skipped)))
        return tuple(levels)

    def _attached(self, target: str) -> list[dict[str, Any]]:
        pages = self._org.get_paginator("list_policies_for_target").paginate(
            TargetId=target, Filter="SERVICE_CONTROL_POLICY"
        )
        return [policy for page in pages for policy in page["Policies"]]


def _read(name: str, content: str) -> Policy | Unreadable:
    try:
        return parse_policy(content)
    except PolicyError as error:
        return Unreadable(name, str(error))
