"""trust.bot_roles: may the bot assume each registry's role for a person, with their
SourceIdentity and the app and job tags? Each such role's trust policy must allow the bot's
principal `sts:AssumeRole`, `sts:SetSourceIdentity` and `sts:TagSession`; otherwise STS refuses
the promotion (or push) before any image moves."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import AppFacts, AssumedRole, CheckResult, Fact, Status
from bot.domain.checks.registry import app_check
from bot.domain.iam.policy import Unreadable
from bot.domain.iam.role_trust import (
    principal_arn,
    request_context,
    trust_statement,
    trust_verdicts,
)
from bot.domain.on_behalf import TRANSITIVE

CHECK = "trust.bot_roles"


@app_check(
    CHECK,
    "each role the bot assumes for the app's registries trusts the bot with sts:AssumeRole, "
    "sts:SetSourceIdentity and sts:TagSession",
)
def release_roles(facts: AppFacts) -> list[CheckResult]:
    if not facts.assumed_roles:
        return []  # silent: the bot reaches the app's registries with its own credentials
    if not facts.bot_principal.ok or not facts.bot_principal.value:
        return [could_not(CHECK, facts.bot_principal, facts.app)]
    principal = principal_arn(facts.bot_principal.value)
    return [_one(assumed, principal) for assumed in facts.assumed_roles]


def _one(assumed: AssumedRole, principal: str) -> CheckResult:
    arn = assumed.arn
    where = f" ({', '.join(assumed.registries)})"
    fix = f"Add this statement to the trust policy of {arn}:\n{trust_statement(principal)}"
    if not assumed.role.ok and assumed.probe is not None:
        return _probed(assumed, assumed.probe, where, fix)
    if not assumed.role.ok:
        return CheckResult(
            CHECK,
            Status.WARN,
            f"Could not read the trust policy of {arn}{where}: {assumed.role.error}",
            f"Check it there. {fix}",
            arn,
        )
    role = assumed.role.value
    if role is None:
        return CheckResult(
            CHECK,
            Status.FAIL,
            f"Role {arn}{where} does not exist.",
            f"Create it, or fix the registry's `role:` in the catalog. {fix}",
            arn,
        )
    if isinstance(role.trust, Unreadable):
        return CheckResult(
            CHECK,
            Status.FAIL,
            f"The trust policy of {arn}{where} can't be saved as written ({role.trust.reason}).",
            fix,
            arn,
        )
    context = request_context(principal, TRANSITIVE)
    verdicts = trust_verdicts(role.trust, principal, context)
    refused = [v for v in verdicts if v.allowed is False]
    unsure = [v for v in verdicts if v.allowed is None]
    if refused:
        said = "; ".join(f"`{v.action}`: {v.why}" for v in refused)
        return CheckResult(
            CHECK,
            Status.FAIL,
            f"{arn}{where} does not let {principal} in for a person: {said}.",
            fix,
            arn,
        )
    if unsure:
        said = "; ".join(f"`{v.action}`: {v.why}" for v in unsure)
        return CheckResult(
            CHECK,
            Status.WARN,
            f"Whether {arn}{where} lets {principal} in depends on conditions: {said}.",
            "Nothing to change if they hold for ecrbot's sessions (SourceIdentity: the Slack "
            f"user id; tags: {', '.join(TRANSITIVE)}). Otherwise: {fix}",
            arn,
        )
    notes = [v.why for v in verdicts if "names the account" in v.why]
    return CheckResult(
        CHECK,
        Status.PASS,
        f"{arn}{where} trusts {principal} with sts:AssumeRole, sts:SetSourceIdentity and "
        f"sts:TagSession{' (' + notes[0] + ')' if notes else ''}.",
        resource=arn,
    )


def _probed(assumed: AssumedRole, probe: Fact[str], where: str, fix: str) -> CheckResult:
    """STS's own answer, where the trust policy can't be read: an AssumeRole for the person
    who asked, with their SourceIdentity and the tags."""
    if probe.ok:
        return CheckResult(
            CHECK,
            Status.PASS,
            f"STS let the bot assume {assumed.arn}{where} for you, with your SourceIdentity and "
            f"the app and job tags (its trust policy is out of reach: {assumed.role.error}).",
            resource=assumed.arn,
        )
    return CheckResult(
        CHECK,
        Status.FAIL,
        f"STS refused to let the bot assume {assumed.arn}{where} for you: {probe.error}",
        f"{fix}\nThe bot's own policy must allow the same actions on the role "
        "(`scripts/iam-policy --catalog`).",
        assumed.arn,
    )
