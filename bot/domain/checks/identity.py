"""Who the bot is, and whether the app's repository is where the catalog says."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.ecr_features import pending_template
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.registry import app_check


@app_check("identity.caller", "the identity ecrbot's AWS calls run as")
def caller_identity(facts: AppFacts) -> list[CheckResult]:
    if not facts.caller.ok:
        return [could_not("identity.caller", facts.caller)]
    return [
        CheckResult(
            "identity.caller",
            Status.PASS,
            f"ecrbot acts as {facts.caller.value}.",
            resource=str(facts.caller.value),
        )
    ]


@app_check(
    "registry.repository",
    "the ECR repository exists in the catalog's region (or: where it is)",
)
def repository_region(facts: AppFacts) -> list[CheckResult]:
    """The repository exists in the catalog's region; if not, where it does exist."""
    name, region = facts.repository_name, facts.region
    if not facts.repository.ok:
        return [could_not("registry.repository", facts.repository, name)]
    repo = facts.repository.value
    if repo is not None:
        host_region = repo.uri.split(".")[3] if repo.uri.count(".") >= 4 else region
        if host_region != region:
            return [
                CheckResult(
                    "registry.repository",
                    Status.FAIL,
                    f"{name} answers from {host_region}, but the catalog says {region}.",
                    f"Set `registry.region: {host_region}` in the catalog, "
                    f"or create the repository in {region}.",
                    repo.uri,
                )
            ]
        return [
            CheckResult(
                "registry.repository",
                Status.PASS,
                f"Repository {name} exists in {region} ({repo.uri}).",
                resource=repo.arn,
            )
        ]
    elsewhere = facts.elsewhere.value or ()
    if elsewhere:
        found = ", ".join(elsewhere)
        return [
            CheckResult(
                "registry.repository",
                Status.FAIL,
                f"Repository {name} is not in {region} but exists in {found}: the region does not "
                "match (the runbook's 'aws-region matches the registry region').",
                f"Push to the registry in {elsewhere[0]} "
                f"(set `registry.region: {elsewhere[0]}` and "
                f"`aws-region: {elsewhere[0]}`), or create the repository in {region}:\n"
                f"aws ecr create-repository --repository-name {name} --region {region} "
                "--image-tag-mutability IMMUTABLE",
                name,
            )
        ]
    template = pending_template(facts)
    if template is not None:
        return [
            CheckResult(
                "registry.repository",
                Status.PASS,
                f"Repository {name} does not exist in {region} yet: the first push creates it "
                f"from the creation template {template.prefix} (CREATE_ON_PUSH) with "
                f"{template.settings()}.",
                resource=name,
            )
        ]
    unread = ""
    if not facts.creation_templates.ok:
        unread = f" (creation templates could not be read: {facts.creation_templates.error})"
    return [
        CheckResult(
            "registry.repository",
            Status.FAIL,
            f"Repository {name} does not exist in {region} (account {facts.account_id}), and no "
            f"CREATE_ON_PUSH creation template covers it{unread}.",
            f"aws ecr create-repository --repository-name {name} --region {region} "
            "--image-tag-mutability IMMUTABLE",
            name,
        )
    ]
