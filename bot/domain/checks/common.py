"""Small helpers every check uses."""

from __future__ import annotations

from typing import Any

from bot.domain.checks.model import CheckResult, Fact, Status


def could_not(check_id: str, fact: Fact[Any], resource: str = "") -> CheckResult:
    """A check that cannot run says why; it never aborts the others."""
    return CheckResult(check_id, Status.ERROR, f"could not check: {fact.error}", resource=resource)


def skipped(check_id: str, why: str, resource: str = "") -> CheckResult:
    return CheckResult(check_id, Status.SKIP, why, resource=resource)


def repository_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{account_id}:repository/{name}"


def provider_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/token.actions.githubusercontent.com"
