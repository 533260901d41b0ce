"""The registry health report: Slack blocks, the attached detail (Markdown, CSV), text and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block

from bot.domain.report import (
    HealthReport,
    Item,
    Level,
    RegistryGroup,
    ReportFigures,
    Section,
    gap_sentence,
)
from bot.domain.report.model import human_size
from bot.domain.report.registries import scope_of
from bot.render.blocks import SECTION_LIMIT, Blocks, clip, context, section, to_dicts
from bot.render.escape import code, code_block, principal, text
from bot.render.escape import mrkdwn as _esc
from bot.render.report_blocks import charts

ICONS = {
    Level.CRITICAL: "🔴",
    Level.HIGH: "🟠",
    Level.MEDIUM: "🟡",
    Level.LOW: "⚪",
    Level.INFO: "ℹ️",  # noqa: RUF001 (the information sign)
}
MAX_BLOCKS = 50
TOP_ITEMS = 8  # per section in the message; every item is in the thread's tables
FIX_INLINE = 200  # longer fixes (batch deletes, multi-line) only in the thread
COMMANDS = ("aws ", "/ecr ", "ecrbot ")
CSV_COLUMNS = ("section", "repository", "owner", "severity", "message", "fix", "registry")
GROUP_ITEMS = 3  # per section of another registry in the message: one block holds them all
NO_FILES = (
    "The PNG chart and the detail files (Markdown, CSV) are not attached: the app has no "
    "files:write scope. The whole report is above, in blocks."
)


def headline(report: HealthReport) -> str:
    """One line of headline figures (also the message's notification text)."""
    f = report.figures
    return (
        f"Registry health {text(report.account_id)} {text(report.region)}{_others(report)}: "
        f"{f.repositories} repositories, "
        f"{f.images} images, {human_size(f.storage_bytes)}, {f.pushes_this_week} pushes this "
        f"week, {f.action_items} items need action"
    )


def slack_blocks(report: HealthReport, history: Sequence[ReportFigures] | None = None) -> Blocks:
    """The message: headline, gaps, changes, each section's top items, then (given the stored
    `history`) the two charts as `data_visualization` blocks (<= 50 blocks)."""
    f = report.figures
    blocks: list[Block] = [
        section(
            f"*Registry health* · {code(report.account_id)} {text(report.region)}"
            f"{_others(report)} · {_day(report.taken_at)}"
            f"\n*{f.repositories}* repositories · *{f.images}* images · "
            f"*{human_size(f.storage_bytes)}* · *{f.pushes_this_week}* pushes this week · "
            f"*{f.action_items}* need action"
        )
    ]
    if report.gaps:
        lines = [f"⚠️ {text(gap_sentence(g))}" for g in report.gaps]
        blocks.append(section("\n".join(lines) + "\nThe sections they touch are incomplete."))
    blocks.append(section(_changes(report)))
    shown = charts(report.figures, history) if history is not None else []
    cut = 0
    # One block per section whatever its length, and one per other registry, so the message
    # stays far below 50 blocks.
    room = MAX_BLOCKS - len(blocks) - len(shown) - 1
    for sec in report.sections[:room]:
        body, more = _slack_section(sec)
        cut += more
        blocks.append(section(body))
    groups = report.registries[: max(0, room - len(report.sections))]
    for group in groups:
        body, more = _slack_group(group)
        cut += more
        blocks.append(section(body))
    rest = f"{cut} more items in this thread's tables. " if cut else ""
    if len(groups) < len(report.registries):  # past 50 blocks: named, never dropped unsaid
        left = report.registries[len(groups) :]
        rest += (
            f"Registries only in the thread and files: {text(', '.join(g.name for g in left))}. "
        )
    blocks.append(
        context(
            f"{rest}Every item with its fix: the tables in this thread, and the attached files "
            "where the app may upload files."
        )
    )
    return to_dicts(blocks + shown)


def _slack_section(sec: Section) -> tuple[str, int]:
    """A section's text within Slack's limit, and how many of its items did not fit."""
    title = _esc(sec.title)
    head = "\n".join([f"*{title}*: {_esc(sec.summary)}", *(_note(n) for n in sec.notes)])
    lines: list[str] = []
    budget = SECTION_LIMIT - len(head) - 60  # room for the "N more" line
    for item in sec.items[:TOP_ITEMS]:
        line = _slack_item(item)
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
    more = len(sec.items) - len(lines)
    tail = [f"_{more} more in this thread's tables._"] if more else []
    return clip("\n".join([head, *lines, *tail]), SECTION_LIMIT), more


def _others(report: HealthReport) -> str:
    """` and 2 more registries (staging, prod)`, when the catalog has more than home."""
    if not report.registries:
        return ""
    names = ", ".join(text(g.name) for g in report.registries)
    return f" and {len(report.registries)} more {_registries(len(report.registries))} ({names})"


def _registries(count: int) -> str:
    return "registry" if count == 1 else "registries"


def group_title(group: RegistryGroup) -> str:
    """`Registry prod (environments prod, dr) · 210987654321 eu-west-2`, in plain text."""
    held = f" (environments {', '.join(group.environments)})" if group.environments else ""
    return f"Registry {group.name}{held} · {group.account_id} {group.region}"


def group_figures(group: RegistryGroup) -> str:
    """Its figures, or why it could not be read."""
    if group.error is not None:
        return f"Could not be read: {group.error}"
    return (
        f"{group.repositories} repositories, {group.images} images, "
        f"{human_size(group.storage_bytes)}, {group.action_items} need action"
    )


def _slack_group(group: RegistryGroup) -> tuple[str, int]:
    """Another registry in one block: its name and environments, then each section's summary
    and its first items; how many items are only in the thread."""
    icon = "⚠️ " if group.error is not None else ""
    lines = [f"*{text(group_title(group))}*", f"{icon}{text(group_figures(group))}"]
    more = 0
    for sec in group.sections:
        lines.append(f"*{_esc(sec.title)}*: {_esc(sec.summary)}")
        lines += [_slack_item(item) for item in sec.items[:GROUP_ITEMS]]
        more += max(0, len(sec.items) - GROUP_ITEMS)
    if more:
        lines.append(f"_{more} more in this thread's tables._")
    return clip("\n".join(lines), SECTION_LIMIT), more


def _slack_item(item: Item) -> str:
    owner = principal(item.owner) if item.owner else "_no owner_"
    line = f"{ICONS[item.level]} *{text(item.repository)}* · {owner} · {_esc(item.message)}"
    if not item.fix:
        return clip(line, 1000)
    if "\n" in item.fix or len(item.fix) > FIX_INLINE:
        return clip(
            line + "\n      Fix: in this thread (its table, whole in the attached file).", 1000
        )
    if is_command(item.fix):
        return clip(line + f"\n      {code(item.fix, FIX_INLINE)}", 1000)
    return clip(line + f"\n      Fix: {_esc(item.fix)}", 1000)


def is_command(fix: str) -> bool:
    """Whether a fix is something to paste (shown as code) rather than advice."""
    return fix.startswith(COMMANDS)


def _note(note: str) -> str:
    head, _, body = note.partition("\n")
    return f"{_esc(head)}\n{code_block(body.splitlines())}" if body else _esc(head)


def _changes(report: HealthReport) -> str:
    c = report.changes
    if c.since is None:
        return "*Since last report*: this is the first report; changes show from the next one."
    growth = ", ".join(f"{text(repo)} {_signed(delta)}" for repo, delta in c.growth_by_repository)
    lines = [
        f"*Since {_day(c.since)}*: {len(c.new_findings)} new findings, {len(c.new_items)} new "
        f"items, {len(c.fixed)} fixed · storage {_signed(c.storage_growth_bytes)}"
        + (f" ({growth})" if growth else "")
        + f" · images {c.images_delta:+d} · items needing action {c.action_items_delta:+d}"
    ]
    if c.new_findings:
        shown = ", ".join(text(_short(k)) for k in c.new_findings[:5])
        rest = len(c.new_findings) - 5
        lines.append(f"New: {shown}" + (f" and {rest} more" if rest > 0 else ""))
    if c.unverified:
        lines.append(f"{len(c.unverified)} earlier items could not be re-checked (see the gaps).")
    return "\n".join(lines)


def _short(key: str) -> str:
    return key.split(": ", 1)[-1]  # drop the section: "my-app: CVE-2024-1"


def _signed(size: int) -> str:
    return ("+" if size >= 0 else "-") + human_size(abs(size))


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def detail_markdown(report: HealthReport) -> str:
    """The attached file: every section as a table, every item with its owner and fix."""
    out = _md_top(report)
    for sec, depth in _md_sections(report, out):
        out += ["", f"{depth} {sec.title}", "", sec.summary, *_md_notes(sec)]
        if sec.items:
            out += ["", "| level | repository | owner | message | fix |", "|---|---|---|---|---|"]
            out += [
                "| "
                + " | ".join(
                    _cell(v)
                    for v in (i.level.value, i.repository, i.owner or "no owner", i.message)
                )
                + f" | {_code_cell(i.fix)} |"
                for i in sec.items
            ]
    return "\n".join(out) + "\n"


def as_text(report: HealthReport) -> str:
    """For `ecrbot report --format md`: the whole report as Markdown lists a terminal can show."""
    out = _md_top(report)
    for sec, depth in _md_sections(report, out):
        out += ["", f"{depth} {sec.title}", "", sec.summary, *_md_notes(sec)]
        if sec.items:
            out.append("")
        for i in sec.items:
            out.append(
                f"- **{i.level.value}** `{i.repository}` ({i.owner or 'no owner'}): {i.message}"
            )
            if i.fix and is_command(i.fix):
                out += ["", "  ```", *(f"  {line}" for line in i.fix.splitlines()), "  ```"]
            elif i.fix:
                out.append(f"  Fix: {i.fix}")
    return "\n".join(out) + "\n"


def _md_sections(report: HealthReport, out: list[str]) -> Iterator[tuple[Section, str]]:
    """Home's sections, then each other registry's under its own heading (added to `out`)."""
    for sec in report.sections:
        yield sec, "##"
    for group in report.registries:
        out += ["", f"## {group_title(group)}", "", group_figures(group)]
        for sec in group.sections:
            yield sec, "###"


def _md_top(report: HealthReport) -> list[str]:
    f = report.figures
    lines = [
        f"# Registry health: {report.account_id} {report.region}{_others(report)}, "
        f"{_day(report.taken_at)}",
        "",
        f"- {f.repositories} repositories, {f.images} images, {human_size(f.storage_bytes)}",
        f"- {f.pushes_this_week} pushes this week",
        f"- {f.action_items} items need action",
    ]
    if report.gaps:
        lines += ["", "## Gaps", ""] + [f"- {gap_sentence(g)}" for g in report.gaps]
    c = report.changes
    lines += ["", "## Changes", "", _changes(report).replace("*", "**")]
    for title, keys in (
        ("New findings", c.new_findings),
        ("New items", c.new_items),
        ("Fixed", c.fixed),
        ("Could not be re-checked", c.unverified),
    ):
        if keys:
            lines += ["", f"{title}:", *(f"- {_short(k)}" for k in keys)]
    return lines


def _md_notes(sec: Section) -> list[str]:
    out: list[str] = []
    for note in sec.notes:
        head, _, body = note.partition("\n")
        out += ["", head] + (["", "```json", body, "```"] if body else [])
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _code_cell(fix: str) -> str:
    if not is_command(fix):
        return _cell(fix)
    return "<br>".join(f"`{_cell(line)}`" for line in fix.splitlines())


def detail_csv(report: HealthReport) -> str:
    """One row per item (section, repository, owner, severity, message, fix); gaps first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for gap in report.gaps:
        where = scope_of(gap.split(":", 1)[0]) or "home"
        writer.writerow(("gap", "", "", "unknown", gap_sentence(gap), "", where))
    for i in report.items:
        owner = i.owner or "no owner"
        where = i.registry or "home"
        writer.writerow(
            (i.section.value, i.repository, owner, i.level.value, i.message, i.fix, where)
        )
    return buffer.getvalue()


def as_json(report: HealthReport) -> str:
    """For `ecrbot report --format json`: figures, changes, gaps and every section's items."""
    data: dict[str, Any] = {
        "account_id": report.account_id,
        "region": report.region,
        "taken_at": report.taken_at,
        "figures": json.loads(report.figures.to_json()),
        "changes": asdict(report.changes),
        "gaps": [{"gap": g, "sentence": gap_sentence(g)} for g in report.gaps],
        "sections": [asdict(sec) for sec in report.sections],
        "registries": [asdict(group) for group in report.registries],
    }
    return json.dumps(data, indent=2, default=_jsonable, ensure_ascii=False)


def _jsonable(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
