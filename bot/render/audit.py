"""The audit log shown: `/ecr audit` as Block Kit, `ecrbot audit` as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

from bot.domain.audit import AuditEntry, AuditPage, AuditQuery
from bot.render.blocks import SECTION_LIMIT, Blocks, context, section, to_dicts
from bot.render.escape import channel, code, mention, text

MAX_SECTIONS = 20  # of entries, each up to Slack's 3,000 characters; far under its 50 blocks
ICONS = {"ok": "✅", "refused": "🚫", "error": "❌", "usage": "❔", "duplicate": "🔁"}
FIELDS = ("at", "user", "kind", "action", "app", "job", "channel", "outcome", "reason", "detail")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def headline(page: AuditPage) -> str:
    """The message's fallback text."""
    return f"Audit log: the latest {len(page.entries)} of {page.total} entries"


def slack_blocks(page: AuditPage) -> Blocks:
    """`/ecr audit`: one line per entry, newest first, and how many more match."""
    entries, total, asked = page.entries, page.total, _filters(page.query)
    if not entries:
        return to_dicts([section(f"*Audit log*{asked}: no entries.")])
    sections: list[str] = []
    shown = 0
    for entry in entries:
        line = _line(entry)
        if sections and len(sections[-1]) + len(line) + 1 <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        elif len(sections) < MAX_SECTIONS:
            sections.append(line)
        else:
            break
        shown += 1
    blocks: list[Block] = [section(f"*Audit log*{asked}: the latest {shown} of {total}, UTC")]
    blocks += [section(lines) for lines in sections]
    if total > shown:
        blocks.append(
            context(
                f"{total - shown} more not shown: narrow with an app, `--user` or `--since`, "
                "or export them all with `ecrbot audit --format csv`."
            )
        )
    return to_dicts(blocks)


def _filters(query: AuditQuery) -> str:
    parts = []
    if query.app is not None:
        parts.append(f"for {code(query.app, 100)}")
    if query.user is not None:
        parts.append(f"by {mention(query.user)}")
    if query.since is not None:
        parts.append(f"since {_minute(query.since)}")
    return " " + " ".join(parts) if parts else ""


def _line(entry: AuditEntry) -> str:
    at = _minute(entry.at) if entry.at is not None else "-"
    parts = [at, mention(entry.user), f"{text(entry.kind, 32)}/{text(entry.action, 64)}"]
    if entry.app:
        parts.append(code(entry.app, 60))
    if entry.job is not None:
        parts.append(f"job {entry.job}")
    if entry.channel:
        parts.append(channel(entry.channel))
    if entry.detail:
        parts.append(code(entry.detail, 100))
    icon = ICONS.get(entry.outcome, "•")
    outcome = f"{icon} {text(entry.outcome, 32)}"
    if entry.reason:
        outcome += f": {text(entry.reason, 200)}"
    return " · ".join([*parts, outcome])


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


# -- ecrbot audit ------------------------------------------------------------------------------


def as_json(entries: list[AuditEntry]) -> str:
    """A list of objects, newest first; `at` in ISO 8601 (UTC), absent values null."""
    return json.dumps([_fields(entry) for entry in entries], indent=2)


def as_csv(entries: list[AuditEntry]) -> str:
    """A header row, then one row per entry, newest first. A cell a spreadsheet would run as a
    formula (`=`, `+`, `-`, `@`...) starts with a `'`: the values come from Slack users."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for entry in entries:
        writer.writerow([_cell(value) for value in _fields(entry).values()])
    return out.getvalue()


def _fields(entry: AuditEntry) -> dict[str, str | int | None]:
    at = entry.at.astimezone(UTC).isoformat() if entry.at is not None else None
    values = {**{name: getattr(entry, name) for name in FIELDS}, "at": at}
    return {name: values[name] for name in FIELDS}


def _cell(value: str | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.lstrip(" ").startswith(FORMULA_STARTS) else value
