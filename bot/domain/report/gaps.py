"""What a gap (a part of AWS that could not be read) leaves incomplete, and how it is said."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.report.model import Section, SectionId

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


def with_gaps(section: Section, gaps: tuple[str, ...]) -> Section:
    own = tuple(g for g in gaps if section.id in gap_sections(g))
    if not own:
        return section
    # Say the section is incomplete before anything that could read as "all clear".
    summary = f"Incomplete: {'; '.join(gap_sentence(g) for g in own)}. {section.summary}"
    return replace(section, summary=summary, gaps=own)
