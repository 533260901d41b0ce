"""A promotion's approval request in its thread: the digest, the tags, who may approve, until
when, and the Approve / Reject buttons (bound to this request and this digest)."""

from __future__ import annotations

from bot.domain.approvals import Approval, button_value
from bot.domain.promotion import PromotionPlan
from bot.render.blocks import Blocks, actions, button, confirm, context, section, to_dicts
from bot.render.escape import code, mention, principal
from bot.render.ids import ActionId


def request(approval: Approval, planned: PromotionPlan) -> tuple[str, Blocks]:
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
