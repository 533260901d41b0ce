"""`/ecr diagnose` with no app: the bot's own identity, region, engine, token and login."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import CheckResult, PlatformFacts, Status


def platform_checks(facts: PlatformFacts) -> list[CheckResult]:
    results = []
    for check_id, fact, ok, fix in (
        (
            "platform.identity",
            facts.caller,
            "ecrbot acts as {}.",
            "Give the bot AWS credentials (IRSA, an instance role, or AWS_PROFILE).",
        ),
        (
            "platform.docker",
            facts.docker,
            "Docker engine {} answers.",
            "Start dockerd, or point DOCKER_HOST at a reachable engine.",
        ),
        (
            "platform.ecr_token",
            facts.token,
            "ECR issued a login token for {}.",
            "Allow ecr:GetAuthorizationToken on * to the bot's role.",
        ),
        (
            "platform.registry_login",
            facts.login,
            "The registry accepts the token at {}.",
            "Check that the token's region matches the registry host (catalog `registry.region`).",
        ),
    ):
        if fact.ok:
            results.append(
                CheckResult(check_id, Status.PASS, ok.format(fact.value), resource=str(fact.value))
            )
        else:
            failed = could_not(check_id, fact)
            results.append(CheckResult(check_id, Status.FAIL, failed.summary, fix))
    results.insert(
        1,
        CheckResult(
            "platform.region",
            Status.PASS,
            f"ECR calls go to {facts.region}, the catalog's registry region "
            f"(account {facts.account_id}).",
            resource=facts.region,
        ),
    )
    return results
