"""The weekly registry health report: one registry snapshot in, a HealthReport out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from bot.domain.cve_sla import Risk as Risk  # re-exported: the report names it
from bot.domain.ecr_features import LifecycleRule
from bot.domain.tag_mutability import TagMutability

# ECR's finding severities, worst first (the order counts and charts use).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


# ---- inputs: the snapshot fetcher fills these ----


@dataclass(frozen=True)
class ScanFinding:
    name: str
    severity: str  # one of SEVERITIES


@dataclass(frozen=True)
class ImageInfo:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    size_bytes: int
    scan_status: str | None  # COMPLETE | FAILED | UNSUPPORTED_IMAGE | None (never scanned)
    findings: tuple[ScanFinding, ...] = ()
    finding_since: Mapping[str, datetime] = field(default_factory=dict)  # CVE -> first seen
    status: str = "ACTIVE"  # ARCHIVED: ECR still lists it, but it can't be pulled


@dataclass(frozen=True)
class RepositoryInfo:
    name: str
    arn: str
    created_at: datetime
    immutable: bool
    scan_on_push: bool
    encryption: str  # AES256 | KMS | KMS_DSSE
    lifecycle_policy: bool
    images: tuple[ImageInfo, ...]
    image_count: int  # ECR's count; more than len(images) when the fetcher truncated the list
    exclusions: tuple[str, ...] = ()  # tag-mutability exclusion filters (invert `immutable`)
    lifecycle_rules: tuple[LifecycleRule, ...] = ()

    @property
    def mutability(self) -> TagMutability:
        return TagMutability.of(self.immutable, self.exclusions)


@dataclass(frozen=True)
class CatalogEntry:
    app: str
    repository: str
    owner: str | None  # a Slack user-group or user id
    risk: Risk | None


@dataclass(frozen=True)
class AccessFinding:
    """A finding diagnose's IAM evaluators already made (wildcard trust, keys that can push)."""

    principal: str
    severity: Literal["warn", "fail"]
    message: str


@dataclass(frozen=True)
class JobStat:
    app: str
    state: str  # a JobState value: succeeded, failed, cancelled, interrupted, queued, running
    duration_s: float | None
    finished_at: datetime | None
    slowest_step: str | None


@dataclass(frozen=True)
class EnvironmentImages:
    """One environment of an app, read in its own registry (issue #16: which digests run
    where); `images` is empty when the repository is missing or could not be read."""

    app: str
    environment: str
    registry: str  # the catalog's name; "home" for the home registry
    repository: str
    images: tuple[ImageInfo, ...]


@dataclass(frozen=True)
class RegistrySnapshot:
    """Everything one report needs, fetched once; `gaps` names what could not be fetched."""

    taken_at: datetime
    account_id: str
    region: str
    repositories: tuple[RepositoryInfo, ...]
    registry_scanning: bool  # scan-all configured at registry level (basic or enhanced)
    catalog: tuple[CatalogEntry, ...]
    access: tuple[AccessFinding, ...]
    jobs: tuple[JobStat, ...]
    gaps: tuple[str, ...]  # "<part>: <why>", e.g. "scan findings: AccessDenied"
    image_quota: int = 10000
    # Each app's environments, in order, each read in its registry (empty: none promoted).
    environments: tuple[EnvironmentImages, ...] = ()
    # The catalog's other registries (`registries:`), each read through its role (issue #16).
    registries: tuple[RegistryRead, ...] = ()


@dataclass(frozen=True)
class RegistryRead:
    """Another registry of the catalog as read through its role: its repositories, or `error`
    when it could not be read at all (the role refused, AccessDenied on the listing)."""

    name: str  # the catalog's name under `registries:`
    account_id: str
    region: str
    environments: tuple[str, ...]  # the environments that live here, in the catalog's order
    catalog: tuple[CatalogEntry, ...]  # the apps promoted here, with their repository here
    repositories: tuple[RepositoryInfo, ...] = ()
    registry_scanning: bool = False
    gaps: tuple[str, ...] = ()  # "<part>: <why>", as the home snapshot's
    error: str | None = None


RISK_ORDER: tuple[Risk, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class Catalog:
    """The catalog indexed by repository: its owner, risk tier and apps."""

    owners: dict[str, str]
    tiers: dict[str, Risk]
    apps: dict[str, tuple[str, ...]]  # repository -> apps
    repository_of: dict[str, str]  # app -> repository

    @classmethod
    def of(cls, entries: Iterable[CatalogEntry]) -> Catalog:
        """Index entries; several apps on one repository: first owner, highest tier."""
        owners: dict[str, str] = {}
        tiers: dict[str, Risk] = {}
        apps: dict[str, tuple[str, ...]] = {}
        for e in entries:
            if e.owner and e.repository not in owners:
                owners[e.repository] = e.owner
            old = tiers.get(e.repository)
            if e.risk and (old is None or RISK_ORDER.index(e.risk) > RISK_ORDER.index(old)):
                tiers[e.repository] = e.risk  # the strictest tier wins
            apps[e.repository] = (*apps.get(e.repository, ()), e.app)
        repository_of = {app: repo for repo, names in apps.items() for app in names}
        return cls(owners, tiers, apps, repository_of)


# ---- outputs ----


class Level(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"  # listed for the record, not counted as needing action

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class SectionId(StrEnum):
    COMPLIANCE = "compliance"
    VULNERABILITIES = "vulnerabilities"
    HYGIENE = "hygiene"
    ACCESS = "access"
    DRIFT = "drift"
    PIPELINE = "pipeline"
    ENVIRONMENTS = "environments"


TITLES: dict[SectionId, str] = {
    SectionId.COMPLIANCE: "Compliance",
    SectionId.VULNERABILITIES: "Vulnerabilities",
    SectionId.HYGIENE: "Hygiene",
    SectionId.ACCESS: "Access",
    SectionId.DRIFT: "Catalog drift",
    SectionId.PIPELINE: "Pipeline activity",
    SectionId.ENVIRONMENTS: "Environments",
}


@dataclass(frozen=True)
class Item:
    """One line of a section: what is wrong, where, whose it is, and how to fix it."""

    section: SectionId
    key: str  # stable week to week ("<section>: <subject>: <what>"), to tell new from fixed
    repository: str  # the repository (for Access: the principal; for Pipeline: the app's repo)
    owner: str | None
    level: Level
    message: str
    fix: str = ""
    due: datetime | None = None  # CVE fix deadline
    overdue: bool = False
    registry: str | None = None  # the catalog's name of another registry; None: home

    @property
    def action(self) -> bool:
        return self.level is not Level.INFO


@dataclass(frozen=True)
class Section:
    id: SectionId
    title: str
    summary: str
    items: tuple[Item, ...]
    gaps: tuple[str, ...] = ()  # the snapshot's gaps that leave this section incomplete
    notes: tuple[str, ...] = ()  # said once for the section (a default policy, a caveat)

    @property
    def action_items(self) -> int:
        return sum(1 for item in self.items if item.action)


@dataclass(frozen=True)
class ReportFigures:
    """The headline numbers, stored each week for deltas and the trend chart."""

    taken_at: datetime
    repositories: int
    images: int
    storage_bytes: int
    pushes_this_week: int
    action_items: int
    findings_by_severity: dict[str, int]  # newest image of each repository, SEVERITIES keys
    storage_by_repository: dict[str, int]
    open_items: tuple[str, ...] = ()  # sorted Item.key of every action item
    gaps: tuple[str, ...] = ()  # so a trend can tell a partial week from a clean one

    def to_json(self) -> str:
        """The figures as a JSON object (datetimes in ISO 8601)."""
        data: dict[str, Any] = {
            "version": 1,
            "taken_at": self.taken_at.isoformat(),
            "repositories": self.repositories,
            "images": self.images,
            "storage_bytes": self.storage_bytes,
            "pushes_this_week": self.pushes_this_week,
            "action_items": self.action_items,
            "findings_by_severity": self.findings_by_severity,
            "storage_by_repository": self.storage_by_repository,
            "open_items": list(self.open_items),
            "gaps": list(self.gaps),
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReportFigures:
        """Figures stored by to_json; fields added later default so old weeks still load."""
        data = json.loads(text)
        return cls(
            taken_at=datetime.fromisoformat(data["taken_at"]),
            repositories=int(data["repositories"]),
            images=int(data["images"]),
            storage_bytes=int(data["storage_bytes"]),
            pushes_this_week=int(data["pushes_this_week"]),
            action_items=int(data["action_items"]),
            findings_by_severity={str(k): int(v) for k, v in data["findings_by_severity"].items()},
            storage_by_repository={
                str(k): int(v) for k, v in data["storage_by_repository"].items()
            },
            open_items=tuple(str(k) for k in data.get("open_items", ())),
            gaps=tuple(str(g) for g in data.get("gaps", ())),
        )


@dataclass(frozen=True)
class Changes:
    """What moved since the previous report (all empty on the first one)."""

    since: datetime | None
    new_findings: tuple[str, ...]  # vulnerability item keys not in the previous report
    new_items: tuple[str, ...]  # other action item keys not in the previous report
    fixed: tuple[str, ...]  # previous keys gone, in sections that were read in full
    unverified: tuple[str, ...]  # previous keys in sections a gap left incomplete this week
    storage_growth_bytes: int
    growth_by_repository: tuple[tuple[str, int], ...]  # biggest movers first
    images_delta: int
    repositories_delta: int
    action_items_delta: int


@dataclass(frozen=True)
class RegistryGroup:
    """Another registry's part of the report: its own sections, under its name and the
    environments it holds; `error` says why it could not be read at all."""

    name: str
    account_id: str
    region: str
    environments: tuple[str, ...]
    repositories: int
    images: int
    storage_bytes: int
    sections: tuple[Section, ...]
    gaps: tuple[str, ...]  # this registry's gaps, each naming it
    error: str | None = None

    @property
    def action_items(self) -> int:
        return sum(section.action_items for section in self.sections)


@dataclass(frozen=True)
class HealthReport:
    account_id: str
    region: str
    taken_at: datetime
    figures: ReportFigures
    changes: Changes
    sections: tuple[Section, ...]  # the home registry's, and Environments across them all
    gaps: tuple[str, ...]  # every registry's: another's names it
    registries: tuple[RegistryGroup, ...] = ()  # the catalog's other registries, in its order

    @property
    def items(self) -> tuple[Item, ...]:
        groups = (s for group in self.registries for s in group.sections)
        return tuple(item for sec in (*self.sections, *groups) for item in sec.items)


def human_size(size: int) -> str:
    """Bytes in decimal units, as the console shows them: `1.2 GB`."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def plural(count: int, noun: str) -> str:
    """`1 image`, `2 images`, `3 repositories`, `2 pushes`."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}{'es' if noun.endswith(('s', 'sh', 'ch', 'x')) else 's'}"
