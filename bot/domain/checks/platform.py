"""`/ecr diagnose` with no app: the bot's own identity, region, engine, token and login."""

from __future__ import annotations

from typing import Any

from bot.domain.checks.common import could_not
from bot.domain.checks.model import CheckResult, Fact, PlatformFacts, Status
from bot.domain.checks.registry import platform_check


@platform_check("platform.identity", "the bot's AWS identity")
def identity(facts: PlatformFacts) -> list[CheckResult]:
    return _answered(
        "platform.identity",
        facts.caller,
        "ecrbot acts as {}.",
        "Give the bot AWS credentials (IRSA, an instance role, or AWS_PROFILE).",
    )


@platform_check("platform.region", "the region ECR calls go to")
def region(facts: PlatformFacts) -> list[CheckResult]:
    return [
        CheckResult(
            "platform.region",
            Status.PASS,
            f"ECR calls go to {facts.region}, the catalog's registry region "
            f"(account {facts.account_id}).",
            resource=facts.region,
        )
    ]


@platform_check("platform.docker", "the Docker engine answers")
def docker(facts: PlatformFacts) -> list[CheckResult]:
    return _answered(
        "platform.docker",
        facts.docker,
        "Docker engine {} answers.",
        "Start dockerd, or point DOCKER_HOST at a reachable engine.",
    )


@platform_check("platform.ecr_token", "ECR issues a login token")
def ecr_token(facts: PlatformFacts) -> list[CheckResult]:
    return _answered(
        "platform.ecr_token",
        facts.token,
        "ECR issued a login token for {}.",
        "Allow ecr:GetAuthorizationToken on * to the bot's role.",
    )


@platform_check("platform.registry_login", "the registry accepts that token")
def registry_login(facts: PlatformFacts) -> list[CheckResult]:
    return _answered(
        "platform.registry_login",
        facts.login,
        "The registry accepts the token at {}.",
        "Check that the token's region matches the registry host (catalog `registry.region`).",
    )


def _answered(check_id: str, fact: Fact[Any], ok: str, fix: str) -> list[CheckResult]:
    """PASS naming what answered, or FAIL with why and the fix."""
    if fact.ok:
        return [CheckResult(check_id, Status.PASS, ok.format(fact.value), resource=str(fact.value))]
    failed = could_not(check_id, fact)
    return [CheckResult(check_id, Status.FAIL, failed.summary, fix)]
