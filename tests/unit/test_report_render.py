"""The health report rendered: Slack blocks within limits, the attached files, text, JSON, PNG.

Regenerate the golden message after an intended change: `ECRBOT_UPDATE_GOLDEN=1 pytest <this>`;
that run writes it and fails, and the next run without it checks it.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.report import (
    AccessFinding,
    CatalogEntry,
    HealthReport,
    ImageInfo,
    JobStat,
    RegistrySnapshot,
    RepositoryInfo,
    ScanFinding,
    build_report,
)
from bot.render import chart
from bot.render import report as render
from tests.golden import check_golden

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "report" / "slack_blocks.json"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GAP = "scan findings: AccessDenied"


def image(n: int, tags: tuple[str, ...], days: float, findings: int = 0, **kw: Any) -> ImageInfo:
    cves = tuple(
        ScanFinding(f"CVE-2026-{n:03d}{k}", "CRITICAL" if k % 2 else "HIGH")
        for k in range(findings)
    )
    kw.setdefault("scan_status", "COMPLETE")
    return ImageInfo(
        f"sha256:{n:064x}",
        tags,
        NOW - timedelta(days=days),
        5_000_000 * (n % 7 + 1),
        findings=cves,
        **kw,
    )


def repository(i: int, images: int = 20) -> RepositoryInfo:
    """A varied repository: every third mutable, every fourth without lifecycle policy..."""
    imgs = tuple(
        image(
            i * 100 + k,
            () if k % 5 == 0 else (f"1.{k}",) + (("latest",) if k == 1 else ()),
            days=k * 3 + 1,
            findings=3 if k == 0 else 0,
        )
        for k in range(images)
    )
    return RepositoryInfo(
        f"team{i % 9}/service-{i:03d}",
        f"arn:aws:ecr:eu-west-2:1:repository/{i}",
        NOW - timedelta(days=500),
        i % 3 != 0,
        i % 2 == 0,
        "AES256",
        i % 4 != 0,
        imgs,
        images if i % 50 else 8500,
    )


def big_snapshot(count: int = 300) -> RegistrySnapshot:
    repos = tuple(repository(i) for i in range(count))
    catalog = tuple(
        CatalogEntry(
            f"app-{i}",
            r.name,
            f"S0TEAM{i % 9}" if i % 5 else None,
            ("low", "medium", "high", None)[i % 4],
        )
        for i, r in enumerate(repos)
        if i % 10
    )
    jobs = tuple(
        JobStat(
            f"app-{i % 40}",
            "failed" if i % 6 == 0 else "succeeded",
            30.0 + i,
            NOW - timedelta(hours=i),
            "build",
        )
        for i in range(160)
    )
    access = (AccessFinding("arn:aws:iam::1:role/gha-<org>", "fail", "trusts repo:<org>/*"),)
    return RegistrySnapshot(
        NOW, "123456789012", "eu-west-2", repos, False, catalog, access, jobs, (GAP,)
    )


@pytest.fixture(scope="module")
def big() -> HealthReport:
    return build_report(big_snapshot(), None, NOW)


def small() -> HealthReport:
    web = RepositoryInfo(
        "web",
        "arn:web",
        NOW - timedelta(days=400),
        False,
        False,
        "AES256",
        False,
        (image(1, ("latest", "1.0"), 2, findings=2), image(2, (), 30)),
        2,
    )
    tiny = RepositoryInfo(
        "tiny",
        "arn:tiny",
        NOW - timedelta(days=400),
        True,
        True,
        "KMS",
        True,
        (image(3, ("1.0",), 200, scan_status="UNSUPPORTED_IMAGE"),),
        1,
    )
    snapshot = RegistrySnapshot(
        NOW,
        "123456789012",
        "eu-west-2",
        (web, tiny),
        False,
        (
            CatalogEntry("web", "web", "S0PLATFORM", "high"),
            CatalogEntry("ghost", "ghost", "U0AL", None),
        ),
        (AccessFinding("arn:aws:iam::1:user/ci", "fail", "ci has active keys and can push"),),
        (JobStat("web", "succeeded", 30.0, NOW - timedelta(days=1), "build"),),
        (GAP,),
    )
    return build_report(snapshot, None, NOW)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        if block["type"] == "section":
            out.append(block["text"]["text"])
        else:
            out += [element["text"] for element in block["elements"]]
    return out


def test_slack_message_stays_within_limits_on_300_repositories(big: HealthReport) -> None:
    blocks = render.slack_blocks(big)
    assert len(big.items) > 1000
    assert len(blocks) <= 50
    assert all(len(text) <= 3000 for text in texts(blocks))
    sections = texts(blocks)[3:-1]
    assert len(sections) == len(big.sections) == 6
    cut = 0
    for sec, text in zip(big.sections, sections, strict=True):
        icons = tuple(render.ICONS.values())
        shown = sum(1 for line in text.split("\n") if line.startswith(icons))
        if len(sec.items) > shown:
            assert text.endswith(f"_{len(sec.items) - shown} more in this thread's tables._")
        cut += len(sec.items) - shown
    assert cut > 1000
    assert texts(blocks)[-1].startswith(f"{cut} more items in this thread's tables.")


def test_gaps_are_named_at_the_top(big: HealthReport) -> None:
    top = texts(render.slack_blocks(big))[:2]
    assert "Scan findings could not be read: AccessDenied" in top[1]
    vuln = next(t for t in texts(render.slack_blocks(big)) if t.startswith("*Vulnerabilities*"))
    assert "Incomplete: Scan findings could not be read" in vuln


def test_slack_text_is_escaped_and_owners_are_mentions(big: HealthReport) -> None:
    joined = "\n".join(texts(render.slack_blocks(big)))
    assert "gha-&lt;org&gt;" in joined and "<org>" not in joined
    assert "<!subteam^S0TEAM" in joined and "_no owner_" in joined


def test_small_report_matches_golden() -> None:
    actual = json.dumps(render.slack_blocks(small()), indent=2, ensure_ascii=False) + "\n"
    check_golden(GOLDEN, actual)


def test_changes_are_shown_against_last_week() -> None:
    first = small()
    second = build_report(
        replace(big_snapshot(3), taken_at=NOW + timedelta(days=7)), first.figures, NOW
    )
    text = texts(render.slack_blocks(second))[2]
    assert text.startswith("*Since 2026-11-30 09:00 UTC*:")
    assert "new findings" in text and "fixed" in text and "storage " in text
    assert "first report" in texts(render.slack_blocks(first))[2]


def test_csv_has_one_row_per_item_and_names_the_gaps(big: HealthReport) -> None:
    rows = list(csv.DictReader(io.StringIO(render.detail_csv(big))))
    assert list(rows[0]) == [
        "section",
        "repository",
        "owner",
        "severity",
        "message",
        "fix",
        "registry",
    ]
    assert rows[0]["section"] == "gap" and "AccessDenied" in rows[0]["message"]
    assert len(rows) == len(big.items) + 1
    latest = next(r for r in rows if "mutable `latest`" in r["message"])
    assert latest["fix"].count("\n") == 1  # a two-line fix survives the round trip
    assert {r["owner"] for r in rows} >= {"no owner", "S0TEAM1"}


def test_markdown_detail_lists_everything_once(big: HealthReport) -> None:
    md = render.detail_markdown(big)
    for title in (
        "Compliance",
        "Vulnerabilities",
        "Hygiene",
        "Access",
        "Catalog drift",
        "Pipeline activity",
    ):
        assert f"\n## {title}\n" in md
    assert md.count('"rulePriority"') == 1  # the default lifecycle policy, once
    assert md.count("\n| ") - 6 * 1 == len(big.items)  # one header row per section
    assert "- Scan findings could not be read: AccessDenied" in md


def test_text_rendering_has_items_fixes_and_gaps() -> None:
    text = render.as_text(small())
    assert text.startswith("# Registry health: 123456789012 eu-west-2, 2026-11-30 09:00 UTC")
    assert "Scan findings could not be read: AccessDenied" in text
    assert "tiny:1.0 is not scannable" in text and "not clean" in text
    assert "  aws ecr put-image-tag-mutability --repository-name web" in text
    assert "(no owner)" in text and "(S0PLATFORM)" in text


def test_json_rendering_round_trips() -> None:
    report = small()
    data = json.loads(render.as_json(report))
    assert data["figures"]["action_items"] == report.figures.action_items
    assert [s["id"] for s in data["sections"]] == [s.id.value for s in report.sections]
    assert data["gaps"][0]["sentence"] == "Scan findings could not be read: AccessDenied"
    assert data["changes"]["since"] is None


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_with_no_one_and_many_weeks_of_history(big: HealthReport) -> None:
    current = big.figures
    weeks = [
        replace(
            current,
            taken_at=NOW - timedelta(weeks=w),
            findings_by_severity={"CRITICAL": w, "HIGH": 2 * w},
            gaps=() if w % 3 else (GAP,),
        )
        for w in range(1, 20)
    ]
    empty = replace(current, storage_by_repository={}, findings_by_severity={})
    assert png_size(chart.render_png(empty, [])) == (1200, 500)  # nothing stored, no history
    assert png_size(chart.render_png(current, weeks[:1])) == (1200, 500)
    many = chart.render_png(current, weeks)
    assert png_size(many) == (1200, 500)
    assert b"tEXt" not in many  # no software or date stamp: the same figures, the same bytes
