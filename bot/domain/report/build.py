"""One snapshot (and last week's figures) in, one HealthReport out."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from bot.domain.report import sections as s
from bot.domain.report.environments import environments
from bot.domain.report.model import (
    SEVERITIES,
    Catalog,
    Changes,
    HealthReport,
    RegistrySnapshot,
    ReportFigures,
    Section,
    SectionId,
)

# Which sections a gap leaves incomplete, by words in its "<part>" (the text before ":").
GAP_WORDS: dict[SectionId, tuple[str, ...]] = {
    SectionId.COMPLIANCE: ("repositor", "lifecycle", "scanning", "encryption", "mutability"),
    SectionId.VULNERABILITIES: ("scan", "finding", "image", "repositor"),
    SectionId.HYGIENE: ("image", "repositor"),
    SectionId.ACCESS: ("iam", "role", "oidc", "user", "key", "trust", "access"),
    SectionId.DRIFT: ("catalog", "repositor"),
    SectionId.PIPELINE: ("job",),
    SectionId.ENVIRONMENTS: ("environment",),
}
GROWTH_SHOWN = 5


def gap_sections(gap: str) -> frozenset[SectionId]:
    """The sections a gap leaves incomplete: all of them when it names no part we know."""
    part = gap.split(":", 1)[0].lower()
    hit = frozenset(sid for sid, words in GAP_WORDS.items() if any(w in part for w in words))
    # An unknown gap could hide anything, so no section may look clean because of it.
    return hit or frozenset(SectionId)


def gap_sentence(gap: str) -> str:
    """`scan findings: AccessDenied` -> `Scan findings could not be read: AccessDenied`."""
    part, _, why = gap.partition(":")
    if not why.strip():
        return f"Could not be read: {gap.strip()}"
    part = part.strip()
    return f"{part[:1].upper()}{part[1:]} could not be read: {why.strip()}"


def build_report(
    snapshot: RegistrySnapshot, previous: ReportFigures | None, now: datetime
) -> HealthReport:
    """Every section over one snapshot, the headline figures, and the changes since `previous`."""
    catalog = Catalog.of(snapshot.catalog)
    built = (
        s.compliance(snapshot, catalog),
        s.vulnerabilities(snapshot, catalog, now),
        s.hygiene(snapshot, catalog, now),
        s.access(snapshot, catalog),
        s.drift(snapshot, catalog),
        s.pipeline(snapshot, catalog, now),
        # Only for a catalog with environments: the report of one without is unchanged.
        *((environments(snapshot, catalog, now),) if snapshot.environments else ()),
    )
    done = tuple(_with_gaps(section, snapshot.gaps) for section in built)
    current = figures(snapshot, done, now)
    return HealthReport(
        account_id=snapshot.account_id,
        region=snapshot.region,
        taken_at=snapshot.taken_at,
        figures=current,
        changes=changes(current, previous),
        sections=done,
        gaps=snapshot.gaps,
    )


def _with_gaps(section: Section, gaps: tuple[str, ...]) -> Section:
    own = tuple(g for g in gaps if section.id in gap_sections(g))
    if not own:
        return section
    # Say the section is incomplete before anything that could read as "all clear".
    summary = f"Incomplete: {'; '.join(gap_sentence(g) for g in own)}. {section.summary}"
    return replace(section, summary=summary, gaps=own)


def figures(snapshot: RegistrySnapshot, done: tuple[Section, ...], now: datetime) -> ReportFigures:
    """The headline numbers of one report, in the form stored week to week."""
    severities: Counter[str] = Counter()
    for repo in snapshot.repositories:
        image = s.newest(repo)
        if image is not None and image.scan_status in s.SCANNED:
            severities.update(s.worst_findings(image).values())
    storage = {r.name: sum(i.size_bytes for i in r.images) for r in snapshot.repositories}
    images = [i for r in snapshot.repositories for i in r.images]
    # Pushes come from the registry, so CI pushes that never went through the bot count too.
    pushed = sum(1 for i in images if now - s.WEEK <= i.pushed_at <= now)
    actions = sorted(item.key for section in done for item in section.items if item.action)
    return ReportFigures(
        taken_at=snapshot.taken_at,
        repositories=len(snapshot.repositories),
        images=sum(r.image_count for r in snapshot.repositories),
        storage_bytes=sum(storage.values()),
        pushes_this_week=pushed,
        action_items=len(actions),
        findings_by_severity={sev: severities[sev] for sev in SEVERITIES},
        storage_by_repository=storage,
        open_items=tuple(actions),
        gaps=snapshot.gaps,
    )


def changes(current: ReportFigures, previous: ReportFigures | None) -> Changes:
    """New and fixed items and storage growth between two weeks' figures."""
    if previous is None:
        return Changes(
            since=None,
            new_findings=(),
            new_items=(),
            fixed=(),
            unverified=(),
            storage_growth_bytes=0,
            growth_by_repository=(),
            images_delta=0,
            repositories_delta=0,
            action_items_delta=0,
        )
    before, now = set(previous.open_items), set(current.open_items)
    new = sorted(now - before)
    vuln = f"{SectionId.VULNERABILITIES.value}: "
    blind = {sid for gap in current.gaps for sid in gap_sections(gap)}
    gone = sorted(before - now)
    # An item we could not look at this week is not fixed: it is unverified.
    unverified = [k for k in gone if _section_of(k) in blind]
    repos = set(current.storage_by_repository) | set(previous.storage_by_repository)
    growth = {
        r: current.storage_by_repository.get(r, 0) - previous.storage_by_repository.get(r, 0)
        for r in repos
    }
    movers = sorted((kv for kv in growth.items() if kv[1]), key=lambda kv: (-abs(kv[1]), kv[0]))
    return Changes(
        since=previous.taken_at,
        new_findings=tuple(k for k in new if k.startswith(vuln)),
        new_items=tuple(k for k in new if not k.startswith(vuln)),
        fixed=tuple(k for k in gone if k not in unverified),
        unverified=tuple(unverified),
        storage_growth_bytes=current.storage_bytes - previous.storage_bytes,
        growth_by_repository=tuple(movers[:GROWTH_SHOWN]),
        images_delta=current.images - previous.images,
        repositories_delta=current.repositories - previous.repositories,
        action_items_delta=current.action_items - previous.action_items,
    )


def _section_of(key: str) -> SectionId | None:
    try:
        return SectionId(key.split(": ", 1)[0])
    except ValueError:
        return None
