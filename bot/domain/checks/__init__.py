"""The runbook's troubleshooting checklist as small pure functions over one snapshot."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.checks.guardrails import scp_check, simulator_check
from bot.domain.checks.iam_access import oidc_provider, subject_template, trust_policy
from bot.domain.checks.identity import caller_identity, repository_region
from bot.domain.checks.model import AppFacts, CheckResult, PlatformFacts, Report, Status
from bot.domain.checks.platform import platform_checks
from bot.domain.checks.privilege import least_privilege, long_lived_keys
from bot.domain.checks.tags import tag_checks
from bot.domain.checks.workflow import workflow_checks

APP_CHECKS: tuple[Callable[[AppFacts], list[CheckResult]], ...] = (
    caller_identity,
    repository_region,
    workflow_checks,
    oidc_provider,
    subject_template,
    trust_policy,
    least_privilege,
    scp_check,
    simulator_check,
    long_lived_keys,
    tag_checks,
)

# Stable ids (scripts match on them): documented in the README.
CHECK_IDS: dict[str, str] = {
    "identity.caller": "the identity ecrbot's AWS calls run as",
    "registry.repository": "the ECR repository exists in the catalog's region (or: where it is)",
    "workflow.present": "a workflow on the branch assumes an AWS role; workflow files parse",
    "workflow.id_token": "each AWS job gets `id-token: write` under GitHub's permission rules",
    "workflow.region": "each AWS job's `aws-region` is the registry's region",
    "workflow.role": "each AWS job's `role-to-assume` is the catalog's role",
    "workflow.static_keys": "no job passes long-lived access keys",
    "workflow.tooling": "jobs push with the standard tooling",
    "workflow.notes": "caveats: fork pull requests, Dependabot, dynamic environments, latest tags",
    "oidc.provider": "token.actions.githubusercontent.com exists and lists sts.amazonaws.com",
    "oidc.subject": "which claims make up the jobs' `sub`: GitHub's API (with its "
    "`sub_claim_prefix`: name-only or immutable form), the catalog, or the default assumed",
    "trust.role": "the app's CI role exists",
    "trust.subject": "the role's trust policy accepts each subject the jobs present (and is a "
    "policy AWS would save)",
    "trust.hygiene": "trust statements have `aud` and `sub` conditions and no org/repo wildcards "
    "(nor `@*` in place of an owner's or repository's ID)",
    "privilege.push": "the role may run every push action on the app's repository, under its "
    "identity policies, permissions boundary, the repository policy and SCPs; names the "
    "document that decided",
    "privilege.scope": "push actions are not granted on `*` or through `ecr:*`",
    "privilege.scp": "the organization's SCPs allow the push (or: could not check: SCPs)",
    "privilege.simulator": "AWS's policy simulator agrees (or one line saying it is unavailable)",
    "keys.long_lived": "no IAM user with active access keys can push to the repository (its "
    "boundary and the repository policy included)",
    "tags.immutability": "the repository's tags are immutable (SHAs over latest)",
    "tags.image": "with --sha: whether that image exists and what a push would do",
    "platform.identity": "the bot's AWS identity",
    "platform.region": "the region ECR calls go to",
    "platform.docker": "the Docker engine answers",
    "platform.ecr_token": "ECR issues a login token",
    "platform.registry_login": "the registry accepts that token",
}


def check_app(facts: AppFacts) -> Report:
    """Every app check over one snapshot; a check that cannot run says why and others go on."""
    results = [result for check in APP_CHECKS for result in check(facts)]
    return Report(facts.app, verdict(results), tuple(results))


def check_platform(facts: PlatformFacts) -> Report:
    results = platform_checks(facts)
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
