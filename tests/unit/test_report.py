"""The health report's sections, figures and week-over-week changes, on hand-made snapshots."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.report import (
    AccessFinding,
    CatalogEntry,
    ImageInfo,
    JobStat,
    Level,
    RegistrySnapshot,
    ReportFigures,
    RepositoryInfo,
    ScanFinding,
    Section,
    SectionId,
    build_report,
    changes,
    gap_sections,
    gap_sentence,
)
from bot.domain.report import sections as s
from bot.domain.report.model import Catalog, plural

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
REGION = "eu-west-2"


def image(
    digest: str = "a", tags: tuple[str, ...] = ("1.0",), days: float = 1, **kw: Any
) -> ImageInfo:
    kw.setdefault("scan_status", "COMPLETE")
    kw.setdefault("size_bytes", 1_000_000)
    return ImageInfo("sha256:" + digest * 64, tags, NOW - timedelta(days=days), **kw)


def repo(name: str, *images: ImageInfo, count: int | None = None, **kw: Any) -> RepositoryInfo:
    settings: dict[str, Any] = {
        "immutable": True,
        "scan_on_push": True,
        "encryption": "KMS",
        "lifecycle_policy": True,
        "created_at": NOW - timedelta(days=400),
    }
    settings.update(kw)
    arn = f"arn:aws:ecr:{REGION}:123456789012:repository/{name}"
    return RepositoryInfo(
        name, arn, images=images, image_count=len(images) if count is None else count, **settings
    )


def entry(
    app: str, repository: str | None = None, owner: str | None = "S0TEAM", risk: Any = "high"
) -> CatalogEntry:
    return CatalogEntry(app, repository or app, owner, risk)


def snap(
    *repos: RepositoryInfo, catalog: tuple[CatalogEntry, ...] | None = None, **kw: Any
) -> RegistrySnapshot:
    # By default every repository is in the catalog as a high-risk app owned by S0TEAM.
    catalog = tuple(entry(r.name) for r in repos) if catalog is None else catalog
    fields: dict[str, Any] = {"registry_scanning": False, "access": (), "jobs": (), "gaps": ()}
    fields.update(kw)
    return RegistrySnapshot(NOW, "123456789012", REGION, repos, catalog=catalog, **fields)


def what(section: Section) -> list[str]:
    """Each item's key without its section: "<repository>: <what>"."""
    return [item.key.split(": ", 1)[1] for item in section.items]


def test_compliant_high_risk_repository_has_no_items() -> None:
    snapshot = snap(repo("web", image()))
    section = s.compliance(snapshot, Catalog.of(snapshot.catalog))
    assert section.items == ()
    assert section.summary == "Every repository (1) has the controls its risk tier requires."


def test_high_risk_needs_immutability_kms_scanning_and_lifecycle() -> None:
    snapshot = snap(
        repo(
            "web", immutable=False, scan_on_push=False, encryption="AES256", lifecycle_policy=False
        )
    )
    section = s.compliance(snapshot, Catalog.of(snapshot.catalog))
    assert sorted(what(section)) == [
        "web: kms encryption",
        "web: lifecycle policy",
        "web: scan on push",
        "web: tag immutability",
    ]
    fixes = {i.key.rsplit(": ", 1)[1]: i.fix for i in section.items}
    assert {i.level for i in section.items} == {Level.HIGH}
    assert fixes["tag immutability"] == (
        "aws ecr put-image-tag-mutability --repository-name web --image-tag-mutability "
        "IMMUTABLE --region eu-west-2"
    )
    assert "put-image-scanning-configuration" in fixes["scan on push"]
    assert "scanOnPush=true" in fixes["scan on push"]
    assert "--lifecycle-policy-text file://policy.json" in fixes["lifecycle policy"]
    assert "encryptionType=KMS" in fixes["kms encryption"]
    assert all(i.owner == "S0TEAM" for i in section.items)


def test_low_and_medium_risk_need_only_scanning_and_lifecycle() -> None:
    for risk in ("low", "medium"):
        snapshot = snap(
            repo(
                "api",
                immutable=False,
                scan_on_push=False,
                encryption="AES256",
                lifecycle_policy=False,
            ),
            catalog=(entry("api", risk=risk),),
        )
        section = s.compliance(snapshot, Catalog.of(snapshot.catalog))
        assert sorted(what(section)) == ["api: lifecycle policy", "api: scan on push"]
        assert {i.level for i in section.items} == {Level.MEDIUM}


def test_registry_scanning_counts_as_scan_on_push_and_kms_dsse_as_kms() -> None:
    snapshot = snap(repo("web", scan_on_push=False, encryption="KMS_DSSE"), registry_scanning=True)
    assert s.compliance(snapshot, Catalog.of(snapshot.catalog)).items == ()


def test_unknown_tier_is_judged_as_low_and_says_so() -> None:
    snapshot = snap(
        repo("orphan", immutable=False, encryption="AES256", lifecycle_policy=False),
        catalog=(entry("orphan", risk=None),),
    )
    section = s.compliance(snapshot, Catalog.of(snapshot.catalog))
    assert what(section) == ["orphan: lifecycle policy"]
    assert "no risk tier: judged as low" in section.items[0].message
    assert any("judged as low risk" in note for note in section.notes)


def test_default_lifecycle_policy_is_shown_once_and_is_valid_json() -> None:
    snapshot = snap(repo("a", lifecycle_policy=False), repo("b", lifecycle_policy=False))
    section = s.compliance(snapshot, Catalog.of(snapshot.catalog))
    policies = [n for n in section.notes if "policy.json" in n]
    assert len(policies) == 1
    rule = json.loads(policies[0].split("\n", 1)[1])["rules"][0]
    assert rule["selection"]["tagStatus"] == "untagged"  # never expires a tag in use


def test_catalog_owner_and_strictest_tier_per_repository() -> None:
    catalog = Catalog.of(
        (
            entry("a", "shared", owner=None, risk="low"),
            entry("b", "shared", owner="U0BOB", risk="high"),
            entry("c", "shared", owner="S0OTHER", risk="medium"),
        )
    )
    assert catalog.owners == {"shared": "U0BOB"}
    assert catalog.tiers == {"shared": "high"}
    assert catalog.apps == {"shared": ("a", "b", "c")}


def vulns(*repos: RepositoryInfo, **kw: Any) -> Section:
    snapshot = snap(*repos, **kw)
    return s.vulnerabilities(snapshot, Catalog.of(snapshot.catalog), NOW)


def test_only_the_newest_image_is_judged() -> None:
    old = image("o", ("0.9",), days=30, findings=(ScanFinding("CVE-OLD", "CRITICAL"),))
    new = image("n", ("1.0",), days=1, findings=(ScanFinding("CVE-NEW", "HIGH"),))
    assert what(vulns(repo("web", old, new))) == ["web: CVE-NEW"]


def test_not_scannable_is_never_clean() -> None:
    section = vulns(repo("tiny", image(scan_status="UNSUPPORTED_IMAGE")))
    [item] = section.items
    assert item.key == "vulnerabilities: tiny: not scannable"
    assert "not clean" in item.message and "not scannable" in section.summary
    assert item.level is Level.INFO and not item.action


def test_never_scanned_and_failed_scans_are_unknown_and_need_action() -> None:
    section = vulns(repo("a", image(scan_status=None)), repo("b", image(scan_status="FAILED")))
    assert what(section) == ["a: not scanned", "b: scan failed"]
    assert all(i.action and "start-image-scan" in i.fix for i in section.items)
    assert "Unknown, not clean: 2 not scanned, 0 not scannable." in section.summary


def test_clean_scan_is_clean() -> None:
    section = vulns(repo("web", image(findings=(ScanFinding("CVE-M", "MEDIUM"),))))
    assert section.items == ()
    assert section.summary == "0 critical (0 overdue) and 0 high findings on the newest images."


def critical(cve: str, first_seen_days: float) -> ImageInfo:
    since = {cve: NOW - timedelta(days=first_seen_days)}
    return image(findings=(ScanFinding(cve, "CRITICAL"),), finding_since=since)


def test_critical_fix_deadlines_by_tier_overdue_first() -> None:
    section = vulns(
        repo("h-ok", critical("CVE-1", 5)),
        repo("h-late", critical("CVE-2", 8)),
        repo("m-ok", critical("CVE-3", 13)),
        repo("m-late", critical("CVE-4", 20)),
        repo("l-ok", critical("CVE-5", 27)),
        repo("l-late", critical("CVE-6", 31)),
        repo("hi", image(findings=(ScanFinding("CVE-7", "HIGH"),))),
        catalog=(
            entry("h-ok"),
            entry("h-late"),
            entry("m-ok", risk="medium"),
            entry("m-late", risk="medium"),
            entry("l-ok", risk="low"),
            entry("l-late", risk="low"),
            entry("hi"),
        ),
    )
    overdue = [i.repository for i in section.items if i.overdue]
    assert overdue == ["m-late", "h-late", "l-late"]  # the longest overdue first (6, 1, 1 days)
    assert [i.repository for i in section.items[3:]] == ["m-ok", "h-ok", "l-ok", "hi"]
    assert "overdue by 6 days (medium risk: 14 days)" in section.items[0].message
    assert section.items[-1].level is Level.HIGH
    assert "3 overdue" in section.summary


def test_unknown_tier_gets_thirty_days_and_says_so() -> None:
    section = vulns(repo("x", critical("CVE-1", 20)), catalog=())
    [item] = section.items
    assert not item.overdue and item.owner is None
    assert "no risk tier: treated as low, 30 days" in item.message
    assert item.due == NOW + timedelta(days=10)


def test_deadline_counts_from_the_push_when_first_seen_is_unknown() -> None:
    section = vulns(repo("web", image(days=9, findings=(ScanFinding("CVE-1", "CRITICAL"),))))
    assert section.items[0].overdue
    assert "counted from the push" in section.items[0].message


def test_worst_severity_per_finding_and_unknown_severities_as_undefined() -> None:
    findings = (
        ScanFinding("CVE-1", "LOW"),
        ScanFinding("CVE-1", "MEDIUM"),
        ScanFinding("CVE-2", "UNTRIAGED"),
        ScanFinding("CVE-3", "UNDEFINED"),
    )
    worst = s.worst_findings(image(findings=findings))
    assert worst == {"CVE-1": "MEDIUM", "CVE-2": "UNDEFINED", "CVE-3": "UNDEFINED"}


def test_a_cve_in_several_packages_counts_once_at_its_worst() -> None:
    findings = (ScanFinding("CVE-1", "HIGH"), ScanFinding("CVE-1", "CRITICAL"))
    section = vulns(repo("web", image(findings=findings)))
    assert [(i.key, i.level) for i in section.items] == [
        ("vulnerabilities: web: CVE-1", Level.CRITICAL)
    ]


def hyg(*repos: RepositoryInfo, **kw: Any) -> Section:
    snapshot = snap(*repos, **kw)
    return s.hygiene(snapshot, Catalog.of(snapshot.catalog), NOW)


def test_untagged_images_fix_is_the_lifecycle_policy_or_a_delete() -> None:
    section = hyg(
        repo("a", image("1"), image("2", ()), image("3", ()), lifecycle_policy=False),
        repo("b", image("4"), image("5", ()), count=500),
    )
    a, b = section.items
    assert "2 untagged images (2.0 MB)" in a.message and "put-lifecycle-policy" in a.fix
    assert "1 untagged image (1.0 MB) (of 2 read; 500 in all)" in b.message
    assert b.fix.startswith("aws ecr batch-delete-image") and "imageDigest=sha256:5555" in b.fix


def test_repositories_idle_for_ninety_days() -> None:
    section = hyg(
        repo("idle", image(days=91)),
        repo("busy", image(days=89)),
        repo("empty", created_at=NOW - timedelta(days=100)),
        repo("new-empty", created_at=NOW - timedelta(days=3)),
    )
    assert what(section) == ["empty: empty", "idle: no push"]
    assert "delete-repository --repository-name idle" in section.items[1].fix


def test_mutable_latest_only_when_the_repository_is_mutable() -> None:
    section = hyg(
        repo("m", image(tags=("latest", "1.0")), immutable=False),
        repo("i", image(tags=("latest",))),
        repo("n", image(), immutable=False),
    )
    assert what(section) == ["m: mutable latest"]
    assert "--image-ids imageTag=latest" in section.items[0].fix


def test_near_the_image_quota() -> None:
    section = hyg(
        repo("small", image(), count=90, lifecycle_policy=False),
        repo("fine", image(), count=79),
        image_quota=100,
    )
    assert what(section) == ["small: image quota"]  # 90% of a quota of 100
    assert "put-lifecycle-policy" in section.items[0].fix  # expiring images is the first fix
    section = hyg(
        repo("under", image(), count=7999),
        repo("near", image(), count=8000),
        repo("full", image(), count=9600),
    )
    assert [(i.repository, i.level) for i in section.items] == [
        ("full", Level.HIGH),
        ("near", Level.MEDIUM),
    ]
    assert "request-service-quota-increase" in section.items[0].fix


def test_access_findings_with_severity_and_fix() -> None:
    findings = (
        AccessFinding("arn:aws:iam::1:role/gha", "warn", "trust has no aud condition"),
        AccessFinding("arn:aws:iam::1:user/ci-bot", "fail", "ci-bot has keys and can push"),
    )
    snapshot = snap(access=findings)
    user, role = s.access(snapshot, Catalog.of(())).items
    assert (user.level, role.level) == (Level.HIGH, Level.MEDIUM)
    assert "update-access-key --user-name ci-bot" in user.fix
    assert "ecrbot diagnose" in role.fix and role.repository == "arn:aws:iam::1:role/gha"


def test_catalog_drift_both_ways() -> None:
    snapshot = snap(
        repo("web", image()),
        repo("stray", image()),
        catalog=(entry("web"), entry("ghost", owner="U0GHOST")),
    )
    section = s.drift(snapshot, Catalog.of(snapshot.catalog))
    assert what(section) == ["ghost: missing for ghost", "stray: not in catalog"]
    ghost, stray = section.items
    assert ghost.owner == "U0GHOST" and "create-repository --repository-name ghost" in ghost.fix
    assert stray.owner is None


def job(
    app: str, state: str, duration: float | None, days: float = 1, step: str | None = "build"
) -> JobStat:
    return JobStat(app, state, duration, NOW - timedelta(days=days), step)


def test_pipeline_failure_rate_median_and_slowest_step() -> None:
    jobs = (
        job("web", "succeeded", 10),
        job("web", "succeeded", 20, step="push"),
        job("web", "succeeded", 30),
        job("web", "failed", 40, step="push"),
        job("web", "cancelled", 500),
        job("web", "succeeded", 999, days=8),
        JobStat("web", "running", None, None, None),
        job("api", "failed", 5),
        job("api", "failed", 7),
        job("api", "succeeded", None),
    )
    snapshot = snap(jobs=jobs, catalog=(entry("web", "web-repo"),))
    api, web = s.pipeline(snapshot, Catalog.of(snapshot.catalog), NOW).items
    assert web.message == (
        "web: 3 pushes, 1 failed of 4 (25%), median 25 s, slowest step mostly build."
    )
    assert (web.repository, web.owner, web.level) == ("web-repo", "S0TEAM", Level.INFO)
    assert api.level is Level.MEDIUM and api.fix == "/ecr diagnose api"  # 2 of 3 failed
    assert "2 failed of 3 (67%), median 6 s" in api.message


def test_no_jobs_this_week() -> None:
    section = s.pipeline(snap(jobs=(job("web", "succeeded", 1, days=9),)), Catalog.of(()), NOW)
    assert section.items == () and section.summary == "No jobs finished this week."


def test_gaps_are_named_in_the_sections_they_touch() -> None:
    snapshot = snap(repo("web", image(scan_status=None)), gaps=("scan findings: AccessDenied",))
    report = build_report(snapshot, None, NOW)
    vuln = next(sec for sec in report.sections if sec.id is SectionId.VULNERABILITIES)
    assert vuln.summary.startswith("Incomplete: Scan findings could not be read: AccessDenied.")
    assert vuln.gaps == ("scan findings: AccessDenied",)
    drift = next(sec for sec in report.sections if sec.id is SectionId.DRIFT)
    assert drift.gaps == () and report.gaps == ("scan findings: AccessDenied",)


def test_a_gap_naming_no_known_part_marks_every_section() -> None:
    assert gap_sections("something odd: Throttling") == frozenset(SectionId)
    assert gap_sections("jobs: database locked") == {SectionId.PIPELINE}
    assert gap_sentence("lifecycle policies: AccessDenied") == (
        "Lifecycle policies could not be read: AccessDenied"
    )
    assert gap_sentence("timeout") == "Could not be read: timeout"


def test_headline_figures() -> None:
    web = repo(
        "web",
        image(
            "a",
            days=2,
            size_bytes=300,
            findings=(ScanFinding("CVE-1", "CRITICAL"), ScanFinding("CVE-2", "LOW")),
        ),
        image("b", (), days=10, size_bytes=700, findings=(ScanFinding("CVE-9", "HIGH"),)),
        count=5,
    )
    tiny = repo("tiny", image("c", days=3, size_bytes=50, scan_status="UNSUPPORTED_IMAGE"))
    report = build_report(snap(web, tiny), None, NOW)
    f = report.figures
    assert (f.repositories, f.images, f.storage_bytes, f.pushes_this_week) == (2, 6, 1050, 2)
    assert f.storage_by_repository == {"web": 1000, "tiny": 50}
    assert f.findings_by_severity["CRITICAL"] == 1 and f.findings_by_severity["HIGH"] == 0
    assert f.findings_by_severity["LOW"] == 1 and set(f.findings_by_severity) == set(
        ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
    )
    actions = [i for i in report.items if i.action]
    assert f.action_items == len(actions) == len(f.open_items)  # "not scannable" is info only
    assert f.open_items == tuple(sorted(i.key for i in actions))
    assert report.changes.since is None and report.changes.fixed == ()


FIGURES = ReportFigures(
    taken_at=NOW - timedelta(days=7),
    repositories=2,
    images=10,
    storage_bytes=5000,
    pushes_this_week=3,
    action_items=3,
    findings_by_severity={
        "CRITICAL": 1,
        "HIGH": 2,
        "MEDIUM": 0,
        "LOW": 0,
        "INFORMATIONAL": 0,
        "UNDEFINED": 0,
    },
    storage_by_repository={"web": 4000, "api": 1000},
    open_items=(
        "vulnerabilities: web: CVE-1",
        "hygiene: api: mutable latest",
        "access: arn:aws:iam::1:user/ci: ci can push",
    ),
)


def test_changes_between_two_weeks() -> None:
    current = replace(
        FIGURES,
        taken_at=NOW,
        images=12,
        storage_bytes=7500,
        action_items=3,
        storage_by_repository={"web": 4500, "api": 1000, "new": 2000},
        open_items=(
            "vulnerabilities: web: CVE-1",
            "vulnerabilities: api: CVE-5",
            "compliance: new: lifecycle policy",
            "access: arn:aws:iam::1:user/ci: ci can push",
        ),
    )
    c = changes(current, FIGURES)
    assert c.since == FIGURES.taken_at
    assert c.new_findings == ("vulnerabilities: api: CVE-5",)
    assert c.new_items == ("compliance: new: lifecycle policy",)
    assert c.fixed == ("hygiene: api: mutable latest",) and c.unverified == ()
    assert c.storage_growth_bytes == 2500
    assert c.growth_by_repository == (("new", 2000), ("web", 500))
    assert (c.images_delta, c.repositories_delta, c.action_items_delta) == (2, 0, 0)


def test_an_item_not_seen_because_of_a_gap_is_unverified_not_fixed() -> None:
    current = replace(FIGURES, taken_at=NOW, open_items=(), gaps=("iam: AccessDenied",))
    c = changes(current, FIGURES)
    assert c.unverified == ("access: arn:aws:iam::1:user/ci: ci can push",)
    assert c.fixed == ("hygiene: api: mutable latest", "vulnerabilities: web: CVE-1")


def test_report_over_two_weeks_finds_the_fixed_cve() -> None:
    before = build_report(snap(repo("web", critical("CVE-1", 1))), None, NOW - timedelta(days=7))
    after = build_report(snap(repo("web", image())), before.figures, NOW)
    assert after.changes.fixed == ("vulnerabilities: web: CVE-1",)


def test_figures_json_round_trip() -> None:
    figures = replace(FIGURES, gaps=("scan findings: AccessDenied",))
    text = figures.to_json()
    assert json.loads(text)["taken_at"] == "2026-11-23T09:00:00+00:00"
    assert ReportFigures.from_json(text) == figures
    old = json.loads(text)
    del old["open_items"], old["gaps"]  # a week stored before these fields existed
    assert ReportFigures.from_json(json.dumps(old)) == replace(figures, open_items=(), gaps=())


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (1, "image", "1 image"),
        (2, "image", "2 images"),
        (3, "repository", "3 repositories"),
        (2, "push", "2 pushes"),
        (0, "day", "0 days"),
    ],
)
def test_plural(count: int, noun: str, text: str) -> None:
    assert plural(count, noun) == text
