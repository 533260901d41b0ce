"""ECR's newer APIs, read through boto3 into domain values: tag-mutability exclusions,
repository creation templates, managed signing and lifecycle policies.

Shapes follow botocore's ECR service model (GetSigningConfiguration, DescribeImageSigningStatus,
DescribeRepositoryCreationTemplates, DescribeImages' `filter.imageStatus`; checked on botocore
1.43.11, the floor in pyproject.toml); tests/unit/test_ecr_features_adapter.py checks every
request and answer here against that model with botocore's Stubber. moto 5.x serves none of
these operations: it answers an HTML 500, which `NotServed` names, so a stand-in reads as "no
such feature here" and never as a clean bill.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from bot.domain.ecr_features import (
    CreationTemplate,
    SigningRule,
    SigningStatus,
    signing_profiles,
)
from bot.domain.tag_mutability import TagMutability

# No retry: these reads only inform (a failed one is said, never read as clean), and a
# stand-in that lacks them answers 500: measured on moto, 2 attempts cost a median 1.4 s, 1
# attempt 0.48 s, which runs alongside diagnose's other reads.
FEATURE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5)
MAX_TEMPLATES = 100
POLL_S = 1.0
# Error codes of an endpoint that does not know the operation (moto's HTML 500 has a number).
_UNKNOWN_OPERATION = {"InvalidAction", "UnknownOperationException", "NotImplemented"}


class NotServed(Exception):
    """The endpoint does not serve this ECR operation (a stand-in; real ECR always does)."""


def served(call: Callable[[], Any]) -> Any:
    """`call()`, with an answer that is no AWS error at all turned into NotServed."""
    try:
        return call()
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code.isdigit() or code in _UNKNOWN_OPERATION:
            raise NotServed(f"the endpoint does not serve {error.operation_name}") from error
        raise


def mutability(repo: dict[str, Any]) -> TagMutability:
    """A DescribeRepositories (or template) entry's tag mutability with its exclusions."""
    return TagMutability.from_ecr(
        repo.get("imageTagMutability"), repo.get("imageTagMutabilityExclusionFilters")
    )


def read_templates(ecr: Any) -> tuple[CreationTemplate, ...] | None:
    """Every repository creation template (None: the endpoint serves none), bounded."""
    try:
        pages = ecr.get_paginator("describe_repository_creation_templates").paginate(
            PaginationConfig={"MaxItems": MAX_TEMPLATES}
        )
        found = served(lambda: [t for p in pages for t in p["repositoryCreationTemplates"]])
    except NotServed:
        return None
    return tuple(_template(t) for t in found)


def _template(t: dict[str, Any]) -> CreationTemplate:
    encryption = t.get("encryptionConfiguration") or {}
    return CreationTemplate(
        prefix=str(t["prefix"]),
        applied_for=tuple(str(a) for a in t.get("appliedFor") or ()),
        mutability=mutability(t),
        encryption=str(encryption.get("encryptionType", "AES256")),
        kms_key=encryption.get("kmsKey"),
        lifecycle_policy=bool(t.get("lifecyclePolicy")),
        repository_policy=bool(t.get("repositoryPolicy")),
        resource_tags=tuple(str(tag.get("Key")) for tag in t.get("resourceTags") or ()),
        custom_role=t.get("customRoleArn"),
    )


def read_signing_rules(ecr: Any) -> tuple[SigningRule, ...] | None:
    """The registry's signing rules: () when it has no signing configuration, None when the
    endpoint serves no managed signing."""
    try:
        answer = served(ecr.get_signing_configuration)
    except NotServed:
        return None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "SigningConfigurationNotFoundException":
            return ()
        raise
    rules = (answer.get("signingConfiguration") or {}).get("rules") or []
    return tuple(
        SigningRule(
            str(rule["signingProfileArn"]),
            tuple(str(f["filter"]) for f in rule.get("repositoryFilters") or ()),
        )
        for rule in rules[:10]  # PutSigningConfiguration: "Maximum of 10 rules"
    )


def read_signing_status(
    ecr: Any,
    registry_id: str,
    repository: str,
    digest: str,
    *,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[SigningStatus, ...] | None:
    """The image's signing status per profile, once no profile is still IN_PROGRESS or after
    `wait_s`; None when no signing rule covers the repository (or no signing is served)."""
    rules = read_signing_rules(ecr)
    profiles = signing_profiles(repository, rules or ())
    if not profiles:
        return None
    deadline = clock() + wait_s
    while True:
        answer = ecr.describe_image_signing_status(
            registryId=registry_id, repositoryName=repository, imageId={"imageDigest": digest}
        )
        statuses = tuple(
            SigningStatus(
                str(s.get("signingProfileArn", "")),
                str(s.get("status", "IN_PROGRESS")),
                " ".join(str(s.get(k, "")) for k in ("failureCode", "failureReason")).strip(),
            )
            for s in answer.get("signingStatuses") or ()
        )
        # Right after a push the job may not be listed yet: the rules say it will be.
        settled = statuses and all(s.status != "IN_PROGRESS" for s in statuses)
        if settled or clock() >= deadline:
            return statuses or tuple(SigningStatus(p, "IN_PROGRESS") for p in profiles)
        sleep(POLL_S)
