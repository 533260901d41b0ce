"""A digest's scan findings for the promotion scan gate: ECR basic scanning
(`DescribeImageScanFindings`), or Amazon Inspector's `ListFindings` when the registry uses
enhanced scanning.

Followed (read 2026-12-06): ECR API Reference, `ImageScanStatus` (IN_PROGRESS | COMPLETE |
FAILED | UNSUPPORTED_IMAGE | ACTIVE | PENDING | SCAN_ELIGIBILITY_EXPIRED | FINDINGS_UNAVAILABLE |
LIMIT_EXCEEDED | IMAGE_ARCHIVED; ACTIVE and PENDING are enhanced scanning's), and Inspector API
Reference, `FilterCriteria` (`awsAccountId`, `ecrImageRepositoryName`, `ecrImageHash`,
`findingStatus`; StringFilter comparison EQUALS). Requests and answers are checked against
botocore's models in tests/unit/test_scan_findings_adapter.py (Stubber). Everything read is
bounded: at most MAX_PAGES pages of findings, names cut to 100 characters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.promotion import ImageRef
from bot.domain.scan_gate import Finding, ScanResult, ScanState

CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
MAX_PAGES = 10  # 10 pages of up to 1,000 (ECR) or 100 (Inspector) findings
NAME_CHARS = 100
STATES = {
    "COMPLETE": ScanState.DONE,
    "ACTIVE": ScanState.DONE,
    "IN_PROGRESS": ScanState.IN_PROGRESS,
    "PENDING": ScanState.IN_PROGRESS,
    "UNSUPPORTED_IMAGE": ScanState.UNSCANNABLE,
}  # anything else (FAILED, LIMIT_EXCEEDED, SCAN_ELIGIBILITY_EXPIRED, …): no usable result
ENHANCED = ("ACTIVE", "PENDING", "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE")

Clients = Callable[[str, str], Any]  # (service, region) -> a boto3 client


def boto3_clients(endpoint_url: str | None = None) -> Clients:
    """One client per (service, region), made once, with the bot's own credentials."""
    made: dict[tuple[str, str], Any] = {}
    guard = threading.Lock()
    sessions: list[Any] = []  # made on the first read: a gate may never read

    def client(service: str, region: str) -> Any:
        with guard:
            if not sessions:
                import boto3  # here: `ecrbot promote` to an environment without a gate never reads

                sessions.append(boto3.session.Session())
            session = sessions[0]
            if (service, region) not in made:
                made[(service, region)] = session.client(
                    service, region_name=region, endpoint_url=endpoint_url, config=CONFIG
                )
            return made[(service, region)]

    return client


class EcrScanFindings:
    """`ScanFindings` over ECR and Inspector; AWS refusals become `UNREADABLE`, never clean."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def scan(self, image: ImageRef) -> ScanResult:
        registry = image.registry
        ecr = self._clients("ecr", registry.region)
        where = {"registryId": registry.account_id, "repositoryName": image.repository}
        try:
            pushed_at = self._pushed_at(ecr, where, image.reference)
            pages = ecr.get_paginator("describe_image_scan_findings").paginate(
                **where,
                imageId={"imageDigest": image.reference},
                PaginationConfig={"PageSize": 1000},
            )
            status, findings, truncated, enhanced = _ecr_findings(pages)
            state = STATES.get(status, ScanState.FAILED)
            if enhanced and state is ScanState.DONE:
                findings, truncated = self._inspector(image)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "error"))[:64]
            if code == "ScanNotFoundException":
                return ScanResult(ScanState.NOT_SCANNED, detail=code)
            if code == "UnsupportedImageTypeException":
                return ScanResult(ScanState.UNSCANNABLE, detail=code)
            return ScanResult(ScanState.UNREADABLE, detail=code)
        except BotoCoreError as error:
            return ScanResult(ScanState.UNREADABLE, detail=type(error).__name__)
        scanner = "enhanced" if enhanced else "basic"
        return ScanResult(state, findings, pushed_at, scanner, status[:32], truncated)

    def _pushed_at(self, ecr: Any, where: dict[str, str], digest: str) -> datetime | None:
        answer = ecr.describe_images(**where, imageIds=[{"imageDigest": digest}])
        details = answer.get("imageDetails") or [{}]
        return _aware(details[0].get("imagePushedAt"))

    def _inspector(self, image: ImageRef) -> tuple[tuple[Finding, ...], bool]:
        inspector = self._clients("inspector2", image.registry.region)

        def equals(value: str) -> list[dict[str, str]]:
            return [{"comparison": "EQUALS", "value": value}]

        pages = inspector.get_paginator("list_findings").paginate(
            filterCriteria={
                "awsAccountId": equals(image.registry.account_id),
                "ecrImageRepositoryName": equals(image.repository),
                "ecrImageHash": equals(image.reference),
                "findingStatus": equals("ACTIVE"),
            },
            PaginationConfig={"PageSize": 100},
        )
        found: list[Finding] = []
        for index, page in enumerate(pages):
            if index >= MAX_PAGES:
                return tuple(found), True
            found += (_finding(f) for f in page.get("findings") or ())
        return tuple(found), False


def _ecr_findings(
    pages: Iterator[dict[str, Any]],
) -> tuple[str, tuple[Finding, ...], bool, bool]:
    """(scan status, findings, truncated, enhanced) from ECR, at most MAX_PAGES pages. The
    answer says which scanning the registry uses: only enhanced scanning has the states ACTIVE
    and PENDING (and `enhancedFindings`); `GetRegistryScanningConfiguration` would only tell
    the caller's own registry, not another account's. With enhanced scanning the findings are
    read from Inspector instead, filtered by digest."""
    status, found = "", list[Finding]()
    for index, page in enumerate(pages):
        scan = page.get("imageScanFindings") or {}
        if index == 0:
            status = str((page.get("imageScanStatus") or {}).get("status") or "")
            if status in ENHANCED or scan.get("enhancedFindings"):
                return status, (), False, True
        if index >= MAX_PAGES:
            return status, tuple(found), True, False
        found += (_finding(f) for f in scan.get("findings") or ())
    return status, tuple(found), False, False


def _finding(raw: dict[str, Any]) -> Finding:
    details = raw.get("packageVulnerabilityDetails") or {}
    name = raw.get("name") or details.get("vulnerabilityId") or raw.get("title") or "unknown"
    since = raw.get("firstObservedAt")
    printable = "".join(c for c in str(name)[: NAME_CHARS * 2] if c.isprintable())
    return Finding(
        printable[:NAME_CHARS],
        str(raw.get("severity") or "UNDEFINED")[:16],
        _aware(since) if since else None,
    )


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
