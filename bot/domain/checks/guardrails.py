"""What AWS evaluates around the role's own documents: the organization's SCPs, and AWS's policy
simulator as a cross-check of ecrbot's own verdict (its deny wins)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.checks.common import could_not, repository_arn
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.privilege import (
    REPOSITORY_ACTIONS,
    account_of,
    decisions_for,
    fix_for,
    grouped,
    role_request,
)
from bot.domain.checks.registry import app_check
from bot.domain.iam.evaluation import Documents, Principal
from bot.domain.iam.permissions import PUSH_ACTIONS
from bot.domain.iam.policy import Policy, Statement


@app_check("privilege.scp", "the organization's SCPs allow the push (or: could not check: SCPs)")
def scp_check(facts: AppFacts) -> list[CheckResult]:
    """privilege.scp: the organization's SCPs, or an explicit "could not check: SCPs"."""
    if not facts.role_arn:
        return []
    account = account_of(facts.role_arn)
    org = facts.organization
    if not org.ok and account == facts.account_id:
        return [could_not("privilege.scp", org, f"account {account}")]
    if account != facts.account_id and (not org.ok or org.value is None):
        return [
            CheckResult(
                "privilege.scp",
                Status.ERROR,
                f"could not check: SCPs (the role is in account {account}, whose organization "
                f"ecrbot can't see from account {facts.account_id}).",
                "Check the SCPs on that account, its OUs and its root by hand.",
                f"account {account}",
            )
        ]
    if org.ok and org.value is None:
        return [
            CheckResult(
                "privilege.scp",
                Status.PASS,
                f"Account {account} is in no AWS Organization: no SCPs apply.",
                resource=f"account {account}",
            )
        ]
    if not facts.scps.ok:
        return [
            CheckResult(
                "privilege.scp",
                Status.ERROR,
                f"could not check: SCPs (they are readable only from the organization's "
                f"management account or a delegated administrator: {facts.scps.error}).",
                "Run `ecrbot diagnose` with credentials of the management account, or check "
                "the SCPs on the account, its OUs and the root by hand.",
                f"account {account}",
            )
        ]
    levels = facts.scps.value
    if levels is None:
        return [
            CheckResult(
                "privilege.scp",
                Status.PASS,
                f"Account {account} is the organization's management account: SCPs don't "
                "restrict its roles.",
                resource=f"account {account}",
            )
        ]
    request = role_request(facts)
    principal = request[0] if request else Principal(facts.role_arn, "role")
    allow_all = {"everything": _ALLOW_ALL}
    documents = Documents(identity=allow_all, scps=levels)
    decisions = decisions_for(principal, documents, facts, PUSH_ACTIONS)
    denied = [d for d in decisions.values() if d.allowed is not True]
    where = ", ".join(level.target for level in levels)
    if denied:
        return [
            CheckResult(
                "privilege.scp",
                Status.FAIL if any(d.allowed is False for d in denied) else Status.ERROR,
                f"The SCPs stop pushes from {principal.arn}: {'; '.join(grouped(denied))}.",
                fix_for(
                    [replace(d, source="scp") for d in denied],
                    principal,
                    repository_arn(facts.region, facts.account_id, facts.repository_name),
                ),
                f"account {account}",
            )
        ]
    return [
        CheckResult(
            "privilege.scp",
            Status.PASS,
            f"The SCPs on {where} allow the push actions.",
            resource=f"account {account}",
        )
    ]


# An identity side that allows everything, to see what the SCPs alone decide.
_ALLOW_ALL = Policy((Statement(None, "Allow", {}, ("*",), (), ("*",), (), {}),))


@app_check(
    "privilege.simulator",
    "AWS's policy simulator agrees (or one line saying it is unavailable)",
)
def simulator_check(facts: AppFacts) -> list[CheckResult]:
    """privilege.simulator: AWS's policy simulator on the role's own policies, compared."""
    request = role_request(facts)
    if request is None or facts.role.value is None:
        return []
    principal, documents, _ = request
    if not facts.simulation.ok:
        return [
            CheckResult(
                "privilege.simulator",
                Status.SKIP,
                f"AWS's policy simulator is not available here ({_short(facts.simulation.error)}):"
                " privilege.push is ecrbot's own evaluation.",
                resource=principal.arn,
            )
        ]
    if facts.simulation.value is None:
        return []  # not asked (the role is in another account)
    simulated = facts.simulation.value
    # The simulator saw the role's identity policies, boundary and SCPs, not the repository
    # policy (see AwsFacts.simulate): compare with ecrbot's verdict on the same documents.
    own = decisions_for(principal, replace(documents, repository=None), facts, REPOSITORY_ACTIONS)
    disagree = [
        (action, answer, own[action])
        for action, answer in simulated.items()
        if action in own and own[action].allowed is not None
        and (answer == "allowed") != own[action].allowed
    ]  # fmt: skip
    if not disagree:
        return [
            CheckResult(
                "privilege.simulator",
                Status.PASS,
                f"AWS's policy simulator agrees with ecrbot on the role's own policies for "
                f"{len(simulated)} push actions.",
                resource=principal.arn,
            )
        ]
    sim_denies = [d for d in disagree if d[1] != "allowed"]
    shown = "; ".join(
        f"{action}: the simulator says {answer}, ecrbot says "
        f"{'allowed' if mine.allowed else 'denied'} ({mine.decided_by})"
        for action, answer, mine in disagree
    )
    return [
        CheckResult(
            "privilege.simulator",
            Status.FAIL if sim_denies else Status.WARN,
            f"AWS's policy simulator and ecrbot disagree: {shown}."
            + (" ecrbot trusts the simulator's deny." if sim_denies else ""),
            f"aws iam simulate-principal-policy --policy-source-arn {principal.arn} "
            f"--action-names {' '.join(a for a, _, _ in disagree)}",
            principal.arn,
        )
    ]


def _short(error: str | None) -> str:
    text = (error or "no answer").split(":", 1)
    code = text[0].strip()
    return code if len(code) <= 60 else code[:60] + "…"
