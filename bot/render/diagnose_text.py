"""The diagnose checklist for a terminal and as JSON (`ecrbot diagnose [--format json]`).

Apart from the Block Kit in `diagnose.py` so that the command, which CI runs on every pull
request, never imports slack_sdk (its package import loads the whole WebClient).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from bot.domain.checks.model import CheckResult, Report, Status

TERMINAL = {
    Status.PASS: "PASS",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.SKIP: "SKIP",
    Status.ERROR: "ERROR",
}


def ordered(report: Report) -> list[CheckResult]:
    """Problems first, in checklist order within each status."""
    rank = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.PASS: 3, Status.SKIP: 4}
    return sorted(report.results, key=lambda r: rank[r.status])


def as_text(report: Report) -> str:
    """For `ecrbot diagnose`: the verdict, then one line per check with its fix indented."""
    lines = [f"{report.subject}: {report.verdict}"]
    for result in ordered(report):
        lines.append(f"{TERMINAL[result.status]:5} {result.id:22} {result.summary}")
        if result.remediation and result.status in (Status.WARN, Status.FAIL, Status.ERROR):
            lines += [f"{'':28}{line}" for line in result.remediation.splitlines()]
    return "\n".join(lines)


def as_json(report: Report) -> str:
    """For `ecrbot diagnose --format json`: {subject, verdict, checks: [...]}."""
    checks = [{**asdict(r), "status": r.status.value} for r in report.results]
    return json.dumps(
        {"subject": report.subject, "verdict": report.verdict, "checks": checks}, indent=2
    )
