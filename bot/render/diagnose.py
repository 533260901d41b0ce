"""The diagnose checklist: Slack blocks, terminal text and JSON from one Report."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.checks.model import CheckResult, Report, Status
from bot.render.blocks import Blocks, context, section, to_dicts
from bot.render.diagnose_text import TERMINAL as TERMINAL
from bot.render.diagnose_text import as_json as as_json
from bot.render.diagnose_text import as_text as as_text
from bot.render.diagnose_text import ordered as _ordered
from bot.render.escape import code, code_block, mention, mrkdwn, text

ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
    Status.SKIP: "➖",  # noqa: RUF001 (the checklist's "skipped" sign)
    Status.ERROR: "❔",
}
BLOCKS_PER_MESSAGE = 45  # Slack allows 50; leave room
# A diagnose posts at most this many thread messages; the rest of a long checklist (a workflow
# with hundreds of jobs) is summed up, and the whole checklist is attached as a file.
MAX_MESSAGES = 3


def headline(report: Report, requested_by: str | None = None) -> str:
    who = f", requested by {mention(requested_by)}" if requested_by else ""
    icon = "❌" if report.failed else "⚠️" if "warning" in report.verdict else "✅"
    return f"{icon} Diagnose *{text(report.subject)}*{who}: {mrkdwn(report.verdict)}"


def parent(report: Report, requested_by: str | None = None) -> Blocks:
    counts = {s: sum(1 for r in report.results if r.status is s) for s in Status}
    tally = " · ".join(f"{ICONS[s]} {n}" for s, n in counts.items() if n)
    return to_dicts(
        [
            section(headline(report, requested_by)),
            context(f"{tally} · the checklist is in the thread"),
        ]
    )


def verdict_elsewhere(report: Report, requested_by: str | None = None) -> Blocks:
    """The one line a channel /ecr does not answer in gets: the checklist went to a DM."""
    return to_dicts(
        [
            section(headline(report, requested_by)),
            context(
                "The checklist is in the asker's DM with ecrbot: it names IAM users, keys and "
                "roles, and this channel is not one /ecr answers in."
            ),
        ]
    )


def checklist(report: Report) -> list[Blocks]:
    """The checklist as at most MAX_MESSAGES thread messages, each within Slack's block limit;
    what does not fit is counted in a last line that points to the attached file."""
    ordered = _ordered(report)
    room = BLOCKS_PER_MESSAGE * MAX_MESSAGES - 1
    shown, rest = (ordered, []) if len(ordered) <= room + 1 else (ordered[:room], ordered[room:])
    blocks: list[Block] = [section(_line(result)) for result in shown]
    if rest:
        counts = " · ".join(
            f"{ICONS[s]} {n}" for s in Status if (n := sum(1 for r in rest if r.status is s))
        )
        blocks.append(
            context(f"{len(rest)} more checks ({counts}): every check is in the attached file.")
        )
    return [
        to_dicts(blocks[i : i + BLOCKS_PER_MESSAGE])
        for i in range(0, len(blocks), BLOCKS_PER_MESSAGE)
    ] or [to_dicts([section("No checks.")])]


def needs_file(report: Report) -> bool:
    """Whether the checklist is too long for the thread and goes in a file as well."""
    return len(report.results) > BLOCKS_PER_MESSAGE * MAX_MESSAGES


def _line(result: CheckResult) -> str:
    line = f"{ICONS[result.status]} {code(result.id)} {mrkdwn(result.summary)}"
    if result.remediation and result.status in (Status.WARN, Status.FAIL, Status.ERROR):
        line += "\n*Fix:*\n" + code_block(result.remediation.splitlines(), 2400, tail=False)
    return line
