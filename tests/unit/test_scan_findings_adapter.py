"""The scan gate's reader over ECR and Inspector: every request and answer checked against
botocore's service models with its Stubber (moto serves Inspector's ListFindings with nothing in
it, and no enhanced-scanning states), each ECR scan state folded as the gate needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.scan_findings import MAX_PAGES, EcrScanFindings
from bot.domain.environments import NamedRegistry
from bot.domain.promotion import ImageRef
from bot.domain.scan_gate import ScanState

REGISTRY = NamedRegistry("prod", "210987654321", "eu-west-2")
DIGEST = "sha256:" + "a" * 64
IMAGE = ImageRef(REGISTRY, "my-app", DIGEST)
WHERE = {"registryId": "210987654321", "repositoryName": "my-app"}
PUSHED = datetime(2026, 11, 1, tzinfo=UTC)


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x"
    )


class Stubs:
    def __init__(self) -> None:
        self.ecr, self.inspector = client("ecr"), client("inspector2")
        self.ecr_stub, self.inspector_stub = Stubber(self.ecr), Stubber(self.inspector)

    def clients(self, service: str, region: str) -> Any:
        assert region == "eu-west-2"
        return self.ecr if service == "ecr" else self.inspector

    def pushed(self) -> None:
        self.ecr_stub.add_response(
            "describe_images",
            {"imageDetails": [{"imageDigest": DIGEST, "imagePushedAt": PUSHED}]},
            {**WHERE, "imageIds": [{"imageDigest": DIGEST}]},
        )

    def findings(self, answer: dict[str, Any], token: str | None = None) -> None:
        asked: dict[str, Any] = {**WHERE, "imageId": {"imageDigest": DIGEST}, "maxResults": 1000}
        if token:
            asked["nextToken"] = token
        self.ecr_stub.add_response("describe_image_scan_findings", answer, asked)

    def read(self) -> Any:
        with self.ecr_stub, self.inspector_stub:
            result = EcrScanFindings(self.clients).scan(IMAGE)
            self.ecr_stub.assert_no_pending_responses()
            self.inspector_stub.assert_no_pending_responses()
        return result


def basic(status: str, *findings: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        **WHERE,
        "imageId": {"imageDigest": DIGEST},
        "imageScanStatus": {"status": status},
        "imageScanFindings": {"findings": list(findings)},
    }
    if token:
        answer["nextToken"] = token
    return answer


def test_basic_scanning_findings_every_page_with_the_push_time() -> None:
    stubs = Stubs()
    stubs.pushed()
    stubs.findings(basic("COMPLETE", {"name": "CVE-1", "severity": "CRITICAL"}, token="t1"))
    stubs.findings(basic("COMPLETE", {"name": "CVE-2", "severity": "HIGH"}), token="t1")
    result = stubs.read()
    assert result.state is ScanState.DONE and result.scanner == "basic"
    assert [(f.name, f.severity, f.since) for f in result.findings] == [
        ("CVE-1", "CRITICAL", None),
        ("CVE-2", "HIGH", None),
    ]
    assert result.pushed_at == PUSHED and not result.truncated


def test_enhanced_scanning_reads_inspector_filtered_by_the_digest() -> None:
    stubs = Stubs()
    stubs.pushed()
    stubs.findings(basic("ACTIVE"))
    seen = datetime(2026, 11, 2, tzinfo=UTC)
    finding = {
        "findingArn": "arn:aws:inspector2:eu-west-2:210987654321:finding/1",
        "awsAccountId": "210987654321",
        "type": "PACKAGE_VULNERABILITY",
        "description": "x",
        "severity": "CRITICAL",
        "firstObservedAt": seen,
        "lastObservedAt": seen,
        "status": "ACTIVE",
        "remediation": {},
        "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "x"}],
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-9", "source": "NVD"},
    }

    def equals(value: str) -> list[dict[str, str]]:
        return [{"comparison": "EQUALS", "value": value}]

    stubs.inspector_stub.add_response(
        "list_findings",
        {"findings": [finding]},
        {
            "filterCriteria": {
                "awsAccountId": equals("210987654321"),
                "ecrImageRepositoryName": equals("my-app"),
                "ecrImageHash": equals(DIGEST),
                "findingStatus": equals("ACTIVE"),
            },
            "maxResults": 100,
        },
    )
    result = stubs.read()
    assert result.state is ScanState.DONE and result.scanner == "enhanced"
    assert [(f.name, f.severity, f.since) for f in result.findings] == [("CVE-9", "CRITICAL", seen)]


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("IN_PROGRESS", ScanState.IN_PROGRESS),
        ("PENDING", ScanState.IN_PROGRESS),
        ("FAILED", ScanState.FAILED),
        ("SCAN_ELIGIBILITY_EXPIRED", ScanState.FAILED),
        ("LIMIT_EXCEEDED", ScanState.FAILED),
        ("UNSUPPORTED_IMAGE", ScanState.UNSCANNABLE),
    ],
)
def test_ecr_scan_states(status: str, state: ScanState) -> None:
    stubs = Stubs()
    stubs.pushed()
    stubs.findings(basic(status))
    result = stubs.read()
    assert result.state is state and result.detail == status and result.findings == ()


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("ScanNotFoundException", ScanState.NOT_SCANNED),
        ("AccessDeniedException", ScanState.UNREADABLE),
    ],
)
def test_errors_are_never_clean(code: str, state: ScanState) -> None:
    stubs = Stubs()
    stubs.pushed()
    stubs.ecr_stub.add_client_error("describe_image_scan_findings", code)
    result = stubs.read()
    assert result.state is state and result.detail == code


def test_findings_are_bounded() -> None:
    stubs = Stubs()
    stubs.pushed()
    long = {"name": "CVE-" + "9" * 500, "severity": "HIGH"}
    stubs.findings(basic("COMPLETE", long, token="t0"))
    for page in range(1, MAX_PAGES + 1):
        stubs.findings(basic("COMPLETE", long, token=f"t{page}"), token=f"t{page - 1}")
    result = stubs.read()
    assert result.truncated and len(result.findings) == MAX_PAGES
    assert len(result.findings[0].name) == 100
