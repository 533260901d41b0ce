"""The report over every registry of the catalog (issue #16). Home keeps today's sections; each
other registry, read through its role, gets its own Compliance, Vulnerabilities, Hygiene and
Drift under its name and the environments it holds. One that can't be read is a gap naming it, never
the end of the report, and what it held last week is unverified, never fixed.

Its gaps and items are scoped by name: a gap's part and an item's subject end with
` in registry <name>` (no repository, principal or app name holds a space), so week-to-week
changes tell home's `compliance: my-app: …` from prod's `compliance: my-app in registry prod: …`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.report import sections as s
from bot.domain.report.gaps import with_gaps
from bot.domain.report.model import (
    Catalog,
    Item,
    RegistryGroup,
    RegistryRead,
    RegistrySnapshot,
    Section,
)

IN = " in registry "


def scoped(registry: str, gap: str) -> str:
    """`scan findings: AccessDenied` of prod -> `scan findings in registry prod: AccessDenied`."""
    part, sep, why = gap.partition(":")
    return f"{part.strip()}{IN}{registry}:{why}" if sep else f"{gap.strip()}{IN}{registry}"


def scope_of(subject: str) -> str | None:
    """The registry a gap's part or an item's subject names; None: the home registry."""
    _, sep, name = subject.rpartition(IN)
    return name.strip() if sep else None


def key_scope(key: str) -> str | None:
    """The registry of an item key (`<section>: <subject>: <what>`); None: home."""
    parts = key.split(": ", 2)
    return scope_of(parts[1]) if len(parts) > 1 else None


def storage_key(registry: str, repository: str) -> str:
    """A repository's name in the stored storage figures (`prod:my-app`; ECR names hold no
    colon, so home's names are unchanged and never collide)."""
    return f"{registry}:{repository}"


def group(read: RegistryRead, taken_at: datetime, now: datetime) -> RegistryGroup:
    """One other registry's sections, its items keyed and labelled with its name."""
    gaps = tuple(scoped(read.name, g) for g in read.gaps)
    if read.error is not None:
        # What it holds is unknown: the gap blinds its sections (their items are unverified).
        gaps = (scoped(read.name, f"repositories: {read.error}"), *gaps)
        return RegistryGroup(*_where(read), 0, 0, 0, (), gaps, read.error)
    catalog = Catalog.of(read.catalog)
    snap = RegistrySnapshot(
        taken_at=taken_at,
        account_id=read.account_id,
        region=read.region,
        repositories=read.repositories,
        registry_scanning=read.registry_scanning,
        catalog=read.catalog,
        access=(),
        jobs=(),
        gaps=gaps,
    )
    built = (
        s.compliance(snap, catalog),
        s.vulnerabilities(snap, catalog, now),
        s.hygiene(snap, catalog, now),
        s.drift(snap, catalog, read.name),
    )
    done = tuple(with_gaps(_labelled(sec, read.name), gaps) for sec in built)
    return RegistryGroup(
        *_where(read),
        repositories=len(read.repositories),
        images=sum(r.image_count for r in read.repositories),
        storage_bytes=sum(i.size_bytes for r in read.repositories for i in r.images),
        sections=done,
        gaps=gaps,
    )


def _where(read: RegistryRead) -> tuple[str, str, str, tuple[str, ...]]:
    return read.name, read.account_id, read.region, read.environments


def _labelled(section: Section, registry: str) -> Section:
    return replace(section, items=tuple(_item(i, registry) for i in section.items))


def _item(item: Item, registry: str) -> Item:
    head = f"{item.section.value}: {item.repository}: "
    what = item.key[len(head) :] if item.key.startswith(head) else item.key
    key = f"{item.section.value}: {item.repository}{IN}{registry}: {what}"
    return replace(item, key=key, registry=registry)
