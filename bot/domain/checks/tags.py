"""Tags: immutability (SHAs over latest), and what a push of one SHA would do."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.registry import app_check


@app_check("tags.immutability", "the repository's tags are immutable (SHAs over latest)")
def tag_immutability(facts: AppFacts) -> list[CheckResult]:
    if not facts.repository.ok or facts.repository.value is None:
        return []  # registry.repository already says why
    repo = facts.repository.value
    return [
        CheckResult(
            "tags.immutability",
            Status.PASS,
            f"{repo.name} has immutable tags: a SHA tag names one image forever.",
            resource=repo.arn,
        )
        if repo.immutable
        else CheckResult(
            "tags.immutability",
            Status.WARN,
            f"{repo.name} has mutable tags: a tag can be moved to another image.",
            f"aws ecr put-image-tag-mutability --repository-name {repo.name} "
            f"--image-tag-mutability IMMUTABLE --region {facts.region}",
            repo.arn,
        )
    ]


@app_check("tags.image", "with --sha: whether that image exists and what a push would do")
def tag_image(facts: AppFacts) -> list[CheckResult]:
    if not facts.sha or not facts.repository.ok or facts.repository.value is None:
        return []  # no SHA asked about, or registry.repository says why
    return [_image(facts, facts.sha)]


def _image(facts: AppFacts, sha: str) -> CheckResult:
    where = f"{facts.repository_name}:{sha}"
    if not facts.image.ok:
        return could_not("tags.image", facts.image, where)
    image = facts.image.value
    if image is None:
        return CheckResult(
            "tags.image",
            Status.PASS,
            f"No image is tagged {sha}: /ecr push would build and push it.",
            resource=where,
        )
    if image.revision and image.revision.startswith(sha):
        return CheckResult(
            "tags.image",
            Status.PASS,
            f"{where} is {image.digest[:19]}, built from that commit: a push would "
            "only add missing tags.",
            resource=where,
        )
    immutable = bool(facts.repository.value and facts.repository.value.immutable)
    return CheckResult(
        "tags.image",
        Status.FAIL if immutable else Status.WARN,
        f"{where} is {image.digest[:19]}, built from {image.revision or 'an unknown commit'}: "
        + ("a push would be refused (immutable)." if immutable else "a push would move the tag."),
        "Push a new commit or version; never reuse a tag for another image.",
        where,
    )
