"""A promotion's approval request in its thread: the digest, the tags, who may approve, until
when, and the Approve / Reject buttons (bound to this request and this digest)."""

from __future__ import annotations

from bot.domain.approvals import Approval, button_value
from bot.domain.commit_diff import CommitDiff
from bot.domain.promotion import PromotionPlan
from bot.render.blocks import Blocks, actions, button, confirm, context, section, to_dicts
from bot.render.escape import code, mention, principal, text
from bot.render.ids import ActionId

COMMITS_CHARS = 2700  # of the commits' section, whose limit is 3,000


def commits(diff: CommitDiff | None) -> str:
    """The commits since what the environment runs now (newest first), or why none are listed.
    Subjects are a repository's words: escaped, one line each, bounded."""
    if diff is None:
        return "*Commits since what runs there now:* not read"
    if diff.between is None:
        return f"*Commits since what runs there now:* unknown: {text(diff.note, 200)}"
    head = (
        f"*Commits since what runs there now* ({code((diff.running or '')[:12])} → "
        f"{code((diff.promoted or '')[:12])}, {diff.between.total}):"
    )
    lines: list[str] = []
    size = len(head)
    for commit in diff.between.commits:
        line = f"• {code(commit.sha[:10])} {text(commit.subject, 100)}"
        if size + len(line) > COMMITS_CHARS:  # escaped `&` grows fivefold: a section is 3,000
            break
        lines.append(line)
        size += len(line) + 1
    more = diff.between.total - len(lines)
    if more > 0:
        lines.append(f"… and {more} more")
    if diff.between.behind:
        lines.append(
            f":warning: {diff.between.behind} commits of what runs there now are not in this "
            "one (a rollback, or another branch)"
        )
    if not diff.between.commits and not diff.between.behind:
        lines.append("none")
    return "\n".join([head, *lines])


def request(
    approval: Approval, planned: PromotionPlan, diff: CommitDiff | None = None
) -> tuple[str, Blocks]:
    """The message the approvers act on; its text is the notification's."""
    tags = ", ".join(code(tag, 128) for tag in approval.tags)
    approvers = ", ".join(principal(who) for who in planned.target.approvers[:20])
    who = f"one of {approvers}, not the requester, approves"
    if approval.gate is not None:
        who = (
            "the scan gate failed, so only an admin (not the requester) may approve, which "
            "overrides it and is audited"
        )
    head = (
        f":raised_hand: Approval needed to promote {code(approval.app, 100)} to "
        f"{code(approval.environment, 63)}"
    )
    value = button_value(approval)
    return head, to_dicts(
        [
            section(f"*{head}*"),
            section(
                f"Digest {code(approval.digest, 80)}\nTags {tags}\n"
                f"From {code(planned.source.registry.host)}/{code(planned.source.repository)}"
            ),
            section(commits(diff)),
            context(
                f"Asked by {mention(approval.requested_by)} · {who} · expires "
                f"{approval.expires_at:%Y-%m-%d %H:%M} UTC · the ref and the scan gate are "
                "checked again just before the copy"
            ),
            actions(
                button("Approve", ActionId.APPROVE.value, value, style="primary"),
                button(
                    "Reject",
                    ActionId.REJECT.value,
                    value,
                    style="danger",
                    confirm=confirm("Reject?", "The promotion ends here.", "Reject"),
                ),
                block_id="approval",
            ),
        ]
    )


def decided(approval: Approval, approving: bool) -> str:
    """The ephemeral answer to the click that decided."""
    what = f"{code(approval.app, 100)} {code(approval.ref, 128)} to {code(approval.environment)}"
    if approving and approval.gate is not None:
        return (
            f":white_check_mark: Approved, overriding the failed scan gate (audited): promoting "
            f"{what}; the copy goes on in the thread."
        )
    if approving:
        return f":white_check_mark: Approved: promoting {what}; the copy goes on in the thread."
    return f":no_entry: Rejected: the promotion of {what} ends here."


def closed(blocks: list[dict[str, object]], note: str) -> Blocks:
    """The approval message once decided or expired: its buttons gone, the outcome below, so a
    later reader sees at once that there is nothing left to click."""
    kept = [block for block in blocks[:45] if block.get("type") != "actions"]
    return [*kept, *to_dicts([context(note)])]


def outcome(approval: Approval, approving: bool, user: str) -> str:
    """The line a decided approval message ends with."""
    if approving and approval.gate is not None:
        return f":white_check_mark: Approved by {mention(user)}, overriding the failed scan gate"
    if approving:
        return f":white_check_mark: Approved by {mention(user)}"
    return f":no_entry: Rejected by {mention(user)}"


EXPIRED = ":hourglass: Expired: nobody approved in time. Ask for the promotion again."


def expired_unanswered(approval: Approval) -> str:
    """The thread's last word on a request nobody approved in time."""
    what = f"{code(approval.app, 100)} {code(approval.ref, 128)} to {code(approval.environment)}"
    return (
        f":hourglass: Nobody approved the promotion of {what} by "
        f"{approval.expires_at:%Y-%m-%d %H:%M} UTC: it expired, and nothing was copied. Ask "
        "again with `/ecr promote`."
    )
