"""Recent promotions, one line each: in `/ecr jobs` (beside the pushes) and in App Home.

Every value in a line came from outside (the ref and environment as a person typed them, the
app, user and group ids, a Slack permalink), so each goes through `escape` and is bounded."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.approvals import ApprovalState
from bot.domain.promotion_runs import ListedPromotion, RunState
from bot.render.blocks import context, section
from bot.render.escape import code, mention, principal, text

ICONS = {
    RunState.RUNNING: "🔄",
    RunState.AWAITING: "✋",
    RunState.SUCCEEDED: "✅",
    RunState.FAILED: "❌",
    RunState.CANCELLED: "🛑",
}
APPROVERS_SHOWN = 5  # principals named on a line; the rest are counted
HEADING = "*Recent promotions*"
NONE_YET = "No promotions yet. Start one with `/ecr promote <app> <version|sha> <env>`."


def line(listed: ListedPromotion) -> str:
    """`✅ promotion · *app* `1.4.0` · staging → prod · succeeded … · asked by @requester`."""
    run = listed.run
    return (
        f"{ICONS.get(run.state, '')} {linked(listed.link, 'promotion')} · *{text(run.app, 100)}* "
        f"{code(run.ref, 128)} · {route(listed)} · {status(listed)} · asked by "
        f"{mention(run.requested_by)}"
    )


def route(listed: ListedPromotion) -> str:
    """Where the image comes from and goes to: an environment, or a registry when it differs
    from the environment's name (the first environment's source is the home registry)."""
    source = _place(listed.source, listed.source_registry) if listed.source else "?"
    return f"{source} → {_place(listed.run.environment, listed.target_registry)}"


def status(listed: ListedPromotion) -> str:
    """Its state in words, with who decided or who may decide."""
    run = listed.run
    if run.state is RunState.AWAITING:
        until = f" until {listed.expires_at:%H:%M} UTC" if listed.expires_at else ""
        return f"awaiting approval by {_deciders(listed)}{until}"
    if run.state is RunState.CANCELLED:
        return f"cancelled by {mention(run.ended_by)}" if run.ended_by else "cancelled"
    if run.state is RunState.FAILED and listed.approval is ApprovalState.REJECTED:
        return f"rejected by {mention(listed.decided_by)}"
    if run.state is RunState.FAILED and listed.approval is ApprovalState.EXPIRED:
        return "failed: its approval expired unanswered"
    if run.state is RunState.SUCCEEDED:
        digest = f" {code(run.digest[:19], 19)}" if run.digest else ""
        by = listed.decided_by if listed.approval is ApprovalState.APPROVED else None
        return f"succeeded{digest}" + (f", approved by {mention(by)}" if by else "")
    return run.state.value


def linked(url: str | None, label: str) -> str:
    """`<url|label>` for a Slack permalink; the bare label for anything that isn't one (a URL
    holding `<`, `>`, `|` or a space would break out of the link)."""
    safe = url is not None and url.startswith("https://") and not set(url) & set("<>| \n")
    return f"<{url}|{label}>" if safe and url is not None and len(url) <= 500 else label


def blocks(promotions: list[ListedPromotion] | tuple[ListedPromotion, ...]) -> list[Block]:
    """`/ecr jobs`'s promotions: a heading, then a section per promotion (each within a
    section's 3,000 characters whatever its values hold)."""
    if not promotions:
        return [section(f"{HEADING}\n{NONE_YET}")]
    return [section(HEADING), *(section(line(listed)) for listed in promotions)]


def home_blocks(promotions: tuple[ListedPromotion, ...]) -> list[Block]:
    """App Home's section: a context line per promotion."""
    if not promotions:
        return [section(HEADING), context("No promotions yet.")]
    return [section(HEADING), *(context(line(listed)) for listed in promotions)]


def deciders(approvers: tuple[str, ...], admins_only: bool) -> str:
    """Who may approve: the environment's approvers, or an admin when the scan gate failed."""
    if admins_only:
        return "an admin (the scan gate failed)"
    if not approvers:
        return "its approvers"
    named = ", ".join(principal(who) for who in approvers[:APPROVERS_SHOWN])
    more = len(approvers) - APPROVERS_SHOWN
    return named + (f" and {more} more" if more > 0 else "")


def _deciders(listed: ListedPromotion) -> str:
    return deciders(listed.approvers, listed.admins_only)


def _place(environment: str, registry: str | None) -> str:
    name = text(environment, 63)
    if registry and registry != environment:
        return f"{name} ({text(registry, 63)})"
    return name
