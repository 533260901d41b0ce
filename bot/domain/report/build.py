"""One snapshot (and last week's figures) in, one HealthReport out."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.domain.report import sections as s
from bot.domain.report.environments import environments
from bot.domain.report.gaps import gap_sections, gap_sentence, with_gaps
from bot.domain.report.model import (
    SEVERITIES,
    Catalog,
    Changes,
    HealthReport,
    RegistryGroup,
    RegistrySnapshot,
    ReportFigures,
    RepositoryInfo,
    Section,
    SectionId,
)
from bot.domain.report.registries import group, key_scope, scope_of, storage_key

__all__ = ["build_report", "changes", "figures", "gap_sections", "gap_sentence"]

GROWTH_SHOWN = 5


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
    done = tuple(with_gaps(section, snapshot.gaps) for section in built)
    groups = tuple(group(read, snapshot.taken_at, now) for read in snapshot.registries)
    current = figures(snapshot, done, now, groups)
    return HealthReport(
        account_id=snapshot.account_id,
        region=snapshot.region,
        taken_at=snapshot.taken_at,
        figures=current,
        changes=changes(current, previous),
        sections=done,
        gaps=(*snapshot.gaps, *(gap for g in groups for gap in g.gaps)),
        registries=groups,
    )


def figures(
    snapshot: RegistrySnapshot,
    done: tuple[Section, ...],
    now: datetime,
    groups: tuple[RegistryGroup, ...] = (),
) -> ReportFigures:
    """The headline numbers of one report over every registry, in the form stored weekly."""
    every: list[tuple[str | None, RepositoryInfo]] = [(None, r) for r in snapshot.repositories]
    every += [(read.name, r) for read in snapshot.registries for r in read.repositories]
    severities: Counter[str] = Counter()
    for _, repo in every:
        image = s.newest(repo)
        if image is not None and image.scan_status in s.SCANNED:
            severities.update(s.worst_findings(image).values())
    storage = {
        storage_key(where, r.name) if where else r.name: sum(i.size_bytes for i in r.images)
        for where, r in every
    }
    # Pushes come from the home registry (CI pushes that never went through the bot count too);
    # an image in another registry got there by a promotion, not a push.
    images = [i for r in snapshot.repositories for i in r.images]
    pushed = sum(1 for i in images if now - s.WEEK <= i.pushed_at <= now)
    sections = (*done, *(sec for g in groups for sec in g.sections))
    actions = sorted(item.key for section in sections for item in section.items if item.action)
    return ReportFigures(
        taken_at=snapshot.taken_at,
        repositories=len(every),
        images=sum(r.image_count for _, r in every),
        storage_bytes=sum(storage.values()),
        pushes_this_week=pushed,
        action_items=len(actions),
        findings_by_severity={sev: severities[sev] for sev in SEVERITIES},
        storage_by_repository=storage,
        open_items=tuple(actions),
        gaps=(*snapshot.gaps, *(gap for g in groups for gap in g.gaps)),
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
    # Each gap blinds its sections in its own registry: prod's AccessDenied leaves home's
    # items checked, and home's leaves prod's.
    blind = {
        (scope_of(gap.split(":", 1)[0]), sid) for gap in current.gaps for sid in gap_sections(gap)
    }
    gone = sorted(before - now)
    # An item we could not look at this week is not fixed: it is unverified.
    unverified = [k for k in gone if (key_scope(k), _section_of(k)) in blind]
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
