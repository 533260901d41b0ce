"""The health report's snapshot of ECR and IAM: paginated, bounded concurrency, retried, counted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws_hooks import OnAwsError, report_errors
from bot.adapters.ecr_features import mutability
from bot.domain.ecr_features import LifecycleRule, lifecycle_rules
from bot.domain.iam.trust import PolicyError, parse_policy, trust_findings
from bot.domain.report import (
    AccessFinding,
    ImageInfo,
    RepositoryInfo,
    ScanFinding,
)

# Adaptive retries back off on ThrottlingException and friends, per call.
CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=20)
GITHUB = "token.actions.githubusercontent.com"


class RegistryReader:
    """Reads every repository once; `calls` counts AWS API calls (the benchmark prints them)."""

    def __init__(
        self,
        region: str,
        account_id: str,
        *,
        endpoint_url: str | None = None,
        pool: Executor,
        session: boto3.session.Session | None = None,
        on_error: OnAwsError | None = None,
    ) -> None:
        self.region, self.account_id = region, account_id
        session = session or boto3.session.Session()
        self._ecr = session.client(
            "ecr", region_name=region, endpoint_url=endpoint_url, config=CONFIG
        )
        self._iam = session.client(
            "iam", region_name="us-east-1", endpoint_url=endpoint_url, config=CONFIG
        )
        for client in (self._ecr, self._iam):
            client.meta.events.register("before-call", self._count)
            report_errors(client, on_error)
        # The process's `registry_reads` pool (bot.runtime.executors): one pool for every
        # report, sized by the policy, not one made and torn down per report.
        self._pool = pool
        self._lock = threading.Lock()
        self.calls = 0

    def repositories(self, gaps: list[str]) -> tuple[tuple[RepositoryInfo, ...], bool]:
        """Every repository with its images; and whether registry-level scanning is on."""
        try:
            repos = [
                r
                for page in self._pages(
                    self._ecr, "describe_repositories", registryId=self.account_id
                )
                for r in page["repositories"]
            ]
        except (ClientError, BotoCoreError) as error:
            gaps.append(f"repositories: {_why(error)}")
            return (), False
        infos = list(self._pool.map(lambda repo: self._repository(repo, gaps), repos))
        return tuple(infos), self._registry_scanning(gaps)

    def access(self, gaps: list[str]) -> tuple[AccessFinding, ...]:
        """GitHub OIDC roles with loose trust (org wildcard, repo:*, no sub/aud).

        Each trust policy is read on its own: one the evaluator can't read is named in a gap
        with why, and every other role's findings stay in the report.
        """
        findings: list[AccessFinding] = []
        provider = f"arn:aws:iam::{self.account_id}:oidc-provider/{GITHUB}"
        try:
            for page in self._pages(self._iam, "list_roles"):
                for role in page["Roles"]:
                    document = role.get("AssumeRolePolicyDocument")
                    if not document or GITHUB not in json.dumps(document):
                        continue
                    try:
                        trust = parse_policy(document)
                    except PolicyError as error:
                        gaps.append(
                            f"iam role {role['Arn']}: its trust policy was skipped, AWS would "
                            f"refuse it as written ({error}); the other roles were checked"
                        )
                        continue
                    for finding in trust_findings(trust, provider):
                        findings.append(
                            AccessFinding(
                                role["Arn"],
                                finding.severity,
                                f"{finding.message} ({finding.statement})",
                            )
                        )
        except (ClientError, BotoCoreError) as error:
            gaps.append(f"iam roles: {_why(error)}")
        return tuple(findings)

    def _repository(self, repo: dict[str, Any], gaps: list[str]) -> RepositoryInfo:
        name = repo["repositoryName"]
        images = self._images(name, gaps)
        # The same choice as the report's own `newest` (ties broken by digest).
        newest = max(images, key=lambda i: (i.pushed_at, i.digest), default=None)
        # ECR leaves imageScanStatus out of some answers (and moto always does): ask for the
        # newest image's findings unless it is known to be unscannable.
        if newest is not None and newest.scan_status != "UNSUPPORTED_IMAGE":
            images = tuple(self._with_findings(name, i, gaps) if i is newest else i for i in images)
        tags = mutability(repo)
        has_policy, rules = self._lifecycle(name, gaps)
        return RepositoryInfo(
            name=name,
            arn=repo["repositoryArn"],
            created_at=_aware(repo.get("createdAt")),
            immutable=tags.base_immutable,
            exclusions=tags.exclusions if tags.setting.endswith("_WITH_EXCLUSION") else (),
            lifecycle_rules=rules,
            scan_on_push=bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush")),
            encryption=(repo.get("encryptionConfiguration") or {}).get("encryptionType", "AES256"),
            lifecycle_policy=has_policy,
            images=images,
            image_count=len(images),
        )

    def images(self, name: str, gaps: list[str]) -> tuple[ImageInfo, ...]:
        """One repository's images (no scan findings): where an environment stands."""
        return self._images(name, gaps)

    def _images(self, name: str, gaps: list[str]) -> tuple[ImageInfo, ...]:
        try:
            details = [
                d
                for page in self._pages(
                    self._ecr,
                    "describe_images",
                    registryId=self.account_id,
                    repositoryName=name,
                    # ANY: DescribeImages lists ACTIVE images only unless asked (archive-image.html)
                    filter={"imageStatus": "ANY"},
                )
                for d in page["imageDetails"]
            ]
        except (ClientError, BotoCoreError) as error:
            self._gap(gaps, f"images: {_why(error)}")
            return ()
        return tuple(
            ImageInfo(
                digest=d["imageDigest"],
                tags=tuple(d.get("imageTags") or ()),
                pushed_at=_aware(d.get("imagePushedAt")),
                size_bytes=int(d.get("imageSizeInBytes") or 0),
                scan_status=(d.get("imageScanStatus") or {}).get("status"),
                status=str(d.get("imageStatus") or "ACTIVE"),
            )
            for d in details
        )

    def _with_findings(self, name: str, image: ImageInfo, gaps: list[str]) -> ImageInfo:
        try:
            answer = self._call(
                self._ecr.describe_image_scan_findings,
                registryId=self.account_id,
                repositoryName=name,
                imageId={"imageDigest": image.digest},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ScanNotFoundException", "UnsupportedImageTypeException"):
                status = "UNSUPPORTED_IMAGE" if code.startswith("Unsupported") else None
                return ImageInfo(
                    image.digest, image.tags, image.pushed_at, image.size_bytes, status
                )
            self._gap(gaps, f"scan findings: {_why(error)}")
            return image
        except BotoCoreError as error:
            self._gap(gaps, f"scan findings: {_why(error)}")
            return image
        scan = answer.get("imageScanFindings") or {}
        raw = list(scan.get("findings") or []) + list(scan.get("enhancedFindings") or [])
        findings = tuple(ScanFinding(_cve(f), str(f.get("severity", "UNDEFINED"))) for f in raw)
        since = {_cve(f): _aware(f.get("firstObservedAt") or image.pushed_at) for f in raw}
        status = (answer.get("imageScanStatus") or {}).get("status") or image.scan_status
        return ImageInfo(
            image.digest, image.tags, image.pushed_at, image.size_bytes, status, findings, since
        )

    def _lifecycle(self, name: str, gaps: list[str]) -> tuple[bool, tuple[LifecycleRule, ...]]:
        """Whether the repository has a lifecycle policy, and its rules as read."""
        try:
            answer = self._call(
                self._ecr.get_lifecycle_policy, registryId=self.account_id, repositoryName=name
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "LifecyclePolicyNotFoundException":
                return False, ()
            self._gap(gaps, f"lifecycle policies: {_why(error)}")
            return False, ()
        except BotoCoreError as error:
            self._gap(gaps, f"lifecycle policies: {_why(error)}")
            return False, ()
        try:
            return True, lifecycle_rules(str(answer.get("lifecyclePolicyText") or "{}"))
        except (ValueError, TypeError, AttributeError):
            self._gap(gaps, "lifecycle policies: a policy's rules could not be read")
            return True, ()

    def _registry_scanning(self, gaps: list[str]) -> bool:
        try:
            config = self._call(self._ecr.get_registry_scanning_configuration)
        except (ClientError, BotoCoreError) as error:
            self._gap(gaps, f"registry scanning: {_why(error)}")
            return False
        rules = (config.get("scanningConfiguration") or {}).get("rules") or []
        return any(
            f.get("filter") == "*" for rule in rules for f in rule.get("repositoryFilters", ())
        )

    def _pages(self, client: Any, operation: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
        paginator = client.get_paginator(operation)
        big_pages = operation in ("describe_repositories", "describe_images")
        config = {"PageSize": 1000} if big_pages else {}
        pages: Iterable[dict[str, Any]] = paginator.paginate(**kwargs, PaginationConfig=config)
        return pages

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        return method(**kwargs)

    def _gap(self, gaps: list[str], gap: str) -> None:
        with self._lock:
            if gap not in gaps:  # one line per kind of gap, not one per repository
                gaps.append(gap)

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1


def _cve(finding: dict[str, Any]) -> str:
    vulnerability = (finding.get("packageVulnerabilityDetails") or {}).get("vulnerabilityId")
    return str(finding.get("name") or vulnerability or finding.get("title") or "unknown")


def _why(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "error"))
    return type(error).__name__


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)
