"""The scan gate over signed HTTP with the Slack stand-in and moto: `prod` refuses an image with a
critical finding (ECR basic scanning, served by moto), naming the findings in the thread
(escaped: a finding's name is AWS's text), a release lead's Approve does not override it, an
admin's does (audited as `gate_override`), and the digest is then copied and verified. Enhanced
scanning's findings come from Inspector (moto), a scan in progress is waited for in the thread
and then refused, and `ecrbot promote` refuses a failing gate with its findings."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from typing import Any

import requests

from tests.e2e.harness import ADMIN, wait_until
from tests.e2e.test_approvals import BOB, RELEASE_LEADS, approval_message, click, thread_of
from tests.e2e.test_cli_promote import promote
from tests.e2e.world import World, assert_succeeded

ACCOUNT = "123456789012"
CVE = "CVE-2026-0001"
HOSTILE = "CVE-2026-0002 <!channel> *bold*"


def canned_scan(world: World, repository: str, digest: str, status: str, *findings: Any) -> None:
    """moto answers DescribeImageScanFindings for this digest as given, from now on (moto's own
    API for canned scan results; a scan must have been started first, as in ECR)."""
    world.ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
    answer = {
        "registryId": "123456789012",
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": status},
        "imageScanFindings": {"findings": list(findings)},
    }
    moto_api(world, "ecr/scan-finding-results", [answer])


def moto_api(world: World, path: str, results: list[Any]) -> None:
    endpoint = world.env["AWS_ENDPOINT_URL"].rstrip("/")
    posted = requests.post(
        f"{endpoint}/moto-api/static/{path}",
        json={"results": results, "region": world.env["AWS_REGION"], "account_id": ACCOUNT},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text


def gated_world(world: World, gate: dict[str, Any], leads: bool = True) -> tuple[str, str]:
    """An app pushed as 1.0.0 with a gated `prod` (`leads`: approved by the release leads, Bob);
    (prod repo, digest)."""
    prod = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod)
    world.slack.set_usergroup(RELEASE_LEADS, [BOB])
    approvers = [RELEASE_LEADS] if leads else []
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod, "approvers": approvers,
         "gate": gate},
    ]  # fmt: skip
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
    return prod, world.registry_tags()["1.0.0"]


def test_a_gate_refuses_a_critical_finding_and_an_admin_overrides_it(world: World) -> None:
    prod, source = gated_world(world, {"critical": 0, "high_past_sla": 0})
    canned_scan(
        world, world.app, source, "COMPLETE",
        {"name": CVE, "severity": "CRITICAL", "uri": "https://example.com/1"},
        {"name": HOSTILE, "severity": "CRITICAL", "uri": "https://example.com/2"},
        {"name": "CVE-2026-0003", "severity": "LOW"},
    )  # fmt: skip

    assert "Promoting" in world.slash(f"promote {world.app} 1.0.0 prod").json()["text"]
    asked = approval_message(world, set())
    thread = thread_of(world, asked)
    refusal = next(t for t in thread if t.startswith(":no_entry: Refused"))
    assert "2 critical (at most 0)" in refusal and f"`{CVE}`" in refusal
    assert "<!channel>" not in refusal and "&lt;!channel&gt;" in refusal
    assert "CVE-2026-0003" not in refusal  # a low finding does not fail the gate
    assert "only an admin" in str(asked["blocks"])
    posted = {
        str(c.params.get("text", ""))[:12]: c.at for c in world.slack.calls("chat.postMessage")
    }
    gate_s = posted[":no_entry: R"] - posted[":mag: Resolv"]
    print(
        f"scan gate (DescribeImages + DescribeImageScanFindings + verdict): {gate_s * 1000:.0f} ms"
    )
    assert gate_s < 2.0

    # A release lead may approve the environment, but not past a failing gate.
    assert "only an admin's approval overrides it" in click(world, asked, BOB)
    assert world.registry_tags(prod) == {}  # nothing copied
    told = click(world, asked, ADMIN)
    assert told.startswith(":white_check_mark: Approved, overriding the failed scan gate")
    ends = (":white_check_mark: P", ":x:")
    end = wait_until(lambda: (t := thread_of(world, asked))[-1].startswith(ends) and t, timeout=60)
    assert end[-1].startswith(":white_check_mark: Promoted") and source in end[-1]
    assert world.registry_tags(prod) == {
        "1.0.0": source,
        world.sample.shas[0]: source,
    }  # same digest, both tags

    def audited() -> list[tuple[str, str, str]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            rows = db.execute(
                'SELECT action, outcome, "user" FROM audit_log WHERE action IN '
                "('scan_gate', 'approve', 'gate_override', 'promote_outcome') ORDER BY id"
            ).fetchall()
        return rows if any(r[0] == "promote_outcome" for r in rows) else None

    rows = wait_until(audited, timeout=10)
    assert ("scan_gate", "refused", "U0ALICE") in rows
    assert ("approve", "refused", BOB) in rows
    assert ("gate_override", "ok", ADMIN) in rows and ("approve", "ok", ADMIN) in rows


def test_enhanced_scanning_reads_the_findings_from_inspector(
    world: World,
) -> None:
    """ECR says ACTIVE (enhanced scanning): the findings are Inspector's, by digest. A high one
    first seen 40 days ago is past the SLA (no risk tier: 30 days) and fails the gate."""
    _, source = gated_world(world, {"high_past_sla": 0})
    canned_scan(world, world.app, source, "ACTIVE")
    seen = time.time() - 40 * 86400
    finding = {
        "findingArn": f"arn:aws:inspector2:eu-west-2:{ACCOUNT}:finding/1",
        "awsAccountId": ACCOUNT,
        "type": "PACKAGE_VULNERABILITY",
        "severity": "HIGH",
        "status": "ACTIVE",
        "firstObservedAt": seen,
        "lastObservedAt": seen,
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-4040", "source": "NVD"},
    }
    moto_api(world, "inspector2/findings-results", [[finding]])
    world.slash(f"promote {world.app} 1.0.0 prod")
    asked = approval_message(world, set())
    refusal = next(t for t in thread_of(world, asked) if t.startswith(":no_entry: Refused"))
    assert "`CVE-2026-4040` (high, 10 days past its SLA)" in refusal, refusal


def test_a_scan_still_in_progress_is_waited_for_then_refused(world: World) -> None:
    _, source = gated_world(world, {"critical": 0, "scan_timeout": "2s"})
    canned_scan(world, world.app, source, "IN_PROGRESS")
    world.slash(f"promote {world.app} 1.0.0 prod")
    asked = approval_message(world, set())
    thread = thread_of(world, asked)
    assert any(t.startswith(":hourglass_flowing_sand: The scan of") for t in thread), thread
    refusal = next(t for t in thread if t.startswith(":no_entry: Refused"))
    assert "the scan was still in progress after 2 s" in refusal
    assert world.registry_tags(f"{world.app}-prod") == {}


def test_the_terminal_refuses_a_failing_gate_with_its_findings(world: World) -> None:
    prod, source = gated_world(world, {"critical": 0}, leads=False)
    canned_scan(world, world.app, source, "COMPLETE", {"name": CVE, "severity": "CRITICAL"})
    refused = promote(world, "--app", world.app, "--ref", "1.0.0", "--to", "prod", "--format=json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["result"] == "failed"
    assert f"1 critical (at most 0): {CVE} (critical)" in refused.stderr
    assert "Only an admin's approval overrides the gate" in refused.stderr
    assert world.registry_tags(prod) == {}
