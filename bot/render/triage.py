"""The threaded answer to a support message: what the error means, the fix, a diagnose button."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.signatures import RUNBOOK
from bot.domain.triage import TriageAnswer
from bot.render.blocks import Blocks, actions, button, context, section, select, to_dicts
from bot.render.escape import code, mrkdwn
from bot.render.ids import ActionId

MAX_EXPLAINED = 3  # the best explanations in full; a log with more usually has one cause
UNREAD_THREAD = (
    "Answered without the rest of this thread: Slack limits how often the bot may read "
    "threads, so it could not see which app this is about. Name the app in the thread, or "
    "run `/ecr diagnose <app>`."
)


def headline(answer: TriageAnswer) -> str:
    """The notification text: the best match's title."""
    return f"This looks like: {mrkdwn(answer.matches[0].title)}"


def blocks(answer: TriageAnswer) -> Blocks:
    shown: list[Block] = []
    for found in answer.matches[:MAX_EXPLAINED]:
        shown.append(section(f"*{mrkdwn(found.title)}*\n{mrkdwn(found.explanation)}"))
        shown.append(section(f"*Fix:* {mrkdwn(found.fix)}"))
    more = len(answer.matches) - MAX_EXPLAINED
    note = f" · {more} more known error(s) in this text" if more > 0 else ""
    line = answer.matches[0].line
    seen = f"Seen in: {code(line, 200)} · " if line else ""
    shown.append(context(f"{seen}From {RUNBOOK}, matched by ecrbot{note}."))
    if answer.thread_unread:
        shown.append(context(UNREAD_THREAD))
    picker = _diagnose(answer.apps)
    if picker is not None:
        shown.append(picker)
    return to_dicts(shown)


def as_text(answer: TriageAnswer) -> str:
    """The same answer for a terminal (the console)."""
    parts = []
    for found in answer.matches[:MAX_EXPLAINED]:
        parts.append(f"{found.title}\n{found.explanation}\nFix: {found.fix}")
    if answer.apps:
        parts.append("Diagnose: " + ", ".join(f"/ecr diagnose {app}" for app in answer.apps))
    if answer.thread_unread:
        parts.append(UNREAD_THREAD.replace("`", ""))
    return "\n\n".join(parts)


def _diagnose(apps: tuple[str, ...]) -> Block | None:
    if not apps:
        return None
    if len(apps) == 1:
        return actions(
            button(f"Run diagnose for {apps[0]}"[:75], ActionId.DIAGNOSE, apps[0]),
            block_id="triage-diagnose",
        )
    options = [(app, app) for app in apps]
    return actions(
        select("Run diagnose for…", ActionId.DIAGNOSE_PICK, options), block_id="triage-diagnose"
    )
