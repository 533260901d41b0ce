"""The checklist: every check in the runbook's order, run over one snapshot."""

from __future__ import annotations

from bot.domain.checks import (
    assumed,
    ecr_features,
    guardrails,
    iam_access,
    identity,
    keys,
    platform,
    privilege,
    tags,
    targets,
    trust,
    workflow,
)
from bot.domain.checks.model import AppFacts, CheckResult, PlatformFacts, Report, Status
from bot.domain.checks.registry import APP, PLATFORM, Check, in_order

# The checklist's order, the runbook's: who ecrbot is and where the repository is, the workflow,
# OIDC and the role's trust, what the role may do (and what ECR does as it: create on push,
# sign), long-lived keys, tags; then the platform.
# Each module declares its checks (`@app_check`); importing it here is what registers them.
ORDER = (
    identity,
    workflow,
    iam_access,
    trust,
    assumed,
    targets,
    privilege,
    ecr_features,
    guardrails,
    keys,
    tags,
    platform,
)
APP_CHECKS: tuple[Check[AppFacts], ...] = tuple(in_order(APP, ORDER))
PLATFORM_CHECKS: tuple[Check[PlatformFacts], ...] = tuple(in_order(PLATFORM, ORDER))

# Stable ids (scripts match on them), read from the declarations; the README documents them.
CHECK_IDS: dict[str, str] = {
    **{check.id: check.summary for check in APP_CHECKS},
    **{check.id: check.summary for check in PLATFORM_CHECKS},
}


def check_app(facts: AppFacts) -> Report:
    """Every app check over one snapshot; a check that cannot run says why and others go on."""
    results = [result for check in APP_CHECKS for result in check(facts)]
    return Report(facts.app, verdict(results), tuple(results))


def check_platform(facts: PlatformFacts) -> Report:
    results = [result for check in PLATFORM_CHECKS for result in check(facts)]
    return Report("ecrbot platform", verdict(results), tuple(results))


def verdict(results: list[CheckResult]) -> str:
    """One line on top: what stops pushes, else what deserves a look."""
    fails = [r for r in results if r.status is Status.FAIL]
    warns = [r for r in results if r.status is Status.WARN]
    errors = [r for r in results if r.status is Status.ERROR]
    unchecked = f" ({len(errors)} could not be checked)" if errors else ""
    if fails:
        ids = ", ".join(dict.fromkeys(r.id for r in fails))
        noun = "problem stops" if len(fails) == 1 else "problems stop"
        return f"{len(fails)} {noun} pushes: {ids}{unchecked}."
    if warns:
        return f"Nothing stops pushes; {len(warns)} warning(s) deserve a look{unchecked}."
    return f"All {len(results)} checks pass{unchecked}."
