"""The scan gate of an environment: whether a digest's scan findings let it be promoted there.

Pure: the findings come through the `ScanFindings` port, the rules are the catalog's `gate:` and
the CVE SLA the health report uses (`cve_sla`), and `now` is given. No scan result is "unknown",
never "clean": a gated environment refuses an image that was not scanned (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain import cve_sla
from bot.domain.cve_sla import Risk
from bot.domain.environments import Gate
from bot.domain.errors import UserError
from bot.domain.promotion import ImageRef

# ECR's finding severities, worst first; anything else (UNTRIAGED) counts as UNDEFINED.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
# How many failing findings a refusal names (the rest are counted).
SHOWN = 10


class GateRefused(UserError):
    """The digest fails the environment's scan gate (the message names the findings)."""


class ScanState(StrEnum):
    """Where the digest's scan stands, in ECR's terms folded to what the gate needs."""

    DONE = "done"  # COMPLETE (basic) or ACTIVE (enhanced): findings to judge
    IN_PROGRESS = "in progress"  # IN_PROGRESS (basic) or PENDING (enhanced): wait for it
    NOT_SCANNED = "not scanned"  # ScanNotFoundException: never scanned
    UNSCANNABLE = "not scannable"  # UNSUPPORTED_IMAGE (e.g. FROM scratch)
    FAILED = "failed"  # FAILED, LIMIT_EXCEEDED, FINDINGS_UNAVAILABLE, SCAN_ELIGIBILITY_EXPIRED…
    UNREADABLE = "unreadable"  # ECR or Inspector refused to answer (AccessDenied, throttled)


@dataclass(frozen=True)
class Finding:
    """One vulnerability on the image, as the scanner named it (text from AWS: escape it)."""

    name: str  # e.g. CVE-2026-1234
    severity: str
    since: datetime | None = None  # first observed (enhanced scanning); None: from the push


@dataclass(frozen=True)
class ScanResult:
    """A digest's scan as read: its state, its findings (when DONE), and when it was pushed."""

    state: ScanState
    findings: tuple[Finding, ...] = ()
    pushed_at: datetime | None = None
    scanner: str = "basic"  # basic (ECR) or enhanced (Amazon Inspector)
    detail: str = ""  # ECR's status or error code, for the refusal
    truncated: bool = False  # more findings than the reader takes: not judged


class ScanFindings(Protocol):
    """The scan findings of one image by digest, in the registry that holds it."""

    def scan(self, image: ImageRef) -> ScanResult: ...


@dataclass(frozen=True)
class Failing:
    """A finding the gate counts against the image."""

    name: str
    severity: str
    days_past_sla: int | None = None  # high findings: how long past the SLA's deadline

    def why(self) -> str:
        """e.g. `critical`, `high, 12 days past its SLA`."""
        if self.severity == "HIGH" and self.days_past_sla is None:
            return "high, age unknown: counted as past its SLA"
        if self.days_past_sla is None:
            return self.severity.lower()
        return f"{self.severity.lower()}, {self.days_past_sla} days past its SLA"

    def words(self) -> str:
        """e.g. `CVE-1 (critical)`; plain text."""
        return f"{self.name} ({self.why()})"


@dataclass(frozen=True)
class Verdict:
    """The gate's answer: passed or not, why in plain words, and the findings that fail it."""

    passed: bool
    summary: str  # plain text: the render layer escapes it
    failing: tuple[Failing, ...] = ()

    def keys(self) -> tuple[str, ...]:
        """The failing findings' names, sorted: what an admin's override is bound to."""
        return tuple(sorted({f.name for f in self.failing}))

    def reason(self, shown: int = SHOWN) -> str:
        """The verdict in plain words, naming at most `shown` failing findings."""
        named = ", ".join(f.words() for f in self.failing[:shown])
        more = len(self.failing) - shown
        tail = f" and {more} more" if more > 0 else ""
        return f"{self.summary}: {named}{tail}" if named else self.summary


def worst(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    """Each finding's worst severity (a CVE in several packages counts once), earliest seen."""
    out: dict[str, Finding] = {}
    for f in findings:
        severity = f.severity.upper() if f.severity.upper() in SEVERITIES else "UNDEFINED"
        f = Finding(f.name, severity, f.since)
        old = out.get(f.name)
        if old is None or _rank(f) < _rank(old):
            out[f.name] = f
    return out


def _rank(f: Finding) -> tuple[int, bool, float]:
    """Worse first; then a known first sighting before none, the earliest first."""
    return SEVERITIES.index(f.severity), f.since is None, f.since.timestamp() if f.since else 0.0


def judge(gate: Gate, result: ScanResult, tier: Risk | None, now: datetime) -> Verdict:
    """Pass when the scan is done and its critical and high-past-SLA counts are within the gate.

    Critical findings count whatever their age; a high finding counts once it is past the
    report's SLA (its tier's days from first seen, or from the push)."""
    if result.state is not ScanState.DONE:
        detail = f" ({result.detail})" if result.detail else ""
        state = f"{result.state.value}{detail}"
        return Verdict(False, f"no usable scan of this digest ({state}): unknown, not clean")
    if result.truncated:
        return Verdict(False, "more findings than ecrbot reads: not judged, so not promoted")
    found = worst(result.findings).values()
    critical = [Failing(f.name, f.severity) for f in found if f.severity == "CRITICAL"]
    high_past = sorted(
        (
            Failing(f.name, f.severity, _days_past(f, result.pushed_at, tier, now))
            for f in found
            if f.severity == "HIGH" and _days_past(f, result.pushed_at, tier, now) != -1
        ),
        key=lambda f: (-(f.days_past_sla or 0), f.name),  # the longest overdue first
    )
    critical.sort(key=lambda f: f.name)
    failing: list[Failing] = []
    words: list[str] = []
    if gate.critical is not None and len(critical) > gate.critical:
        failing += critical
        words.append(f"{len(critical)} critical (at most {gate.critical})")
    if gate.high_past_sla is not None and len(high_past) > gate.high_past_sla:
        failing += high_past
        words.append(f"{len(high_past)} high past the SLA (at most {gate.high_past_sla})")
    counts = (
        f"{len(critical)} critical, {len(high_past)} high past the SLA "
        f"({cve_sla.basis(tier)}), {result.scanner} scanning"
    )
    if failing:
        return Verdict(False, f"the scan gate fails: {' and '.join(words)}", tuple(failing))
    return Verdict(True, f"the scan gate passes: {counts}")


def _days_past(
    f: Finding, pushed_at: datetime | None, tier: Risk | None, now: datetime
) -> int | None:
    """Days past the SLA; -1 within it; None when neither the first sighting nor the push is
    known (counted as past: unknown is not within)."""
    if f.since is None and pushed_at is None:
        return None
    due = cve_sla.due(f.since, pushed_at or now, tier)
    return (now - due).days if now > due else -1


def within(overridden: tuple[str, ...], verdict: Verdict) -> bool:
    """Whether a failing `verdict` fails only on findings an admin's override named."""
    return set(verdict.keys()) <= set(overridden)


def duration(seconds: int) -> str:
    """`scan_timeout` in words: 90 s, 5 min, 1 h."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
