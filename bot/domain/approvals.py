"""Two-person approval of a promotion: bound to one digest, one request and one thread, and
only for a while (the environment's `approval_ttl`). Pure rules; the rows live behind a port."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.errors import NotAuthorized
from bot.domain.text import code

DEFAULT_TTL_S = 30 * 60


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # its promotion was cancelled while it waited


@dataclass(frozen=True)
class Approval:
    """One request for approval: what would be copied (digest, tags), for whom, until when."""

    id: str
    app: str
    ref: str
    environment: str
    digest: str
    tags: tuple[str, ...]
    requested_by: str
    channel: str | None
    created_at: datetime
    expires_at: datetime
    state: ApprovalState = ApprovalState.PENDING
    thread_ts: str | None = None  # the promotion's thread, once its parent is posted
    decided_by: str | None = None
    # The scan gate failed on these findings when it was asked (None: it passed, or there is no
    # gate; empty: it failed without findings, e.g. not scanned): only an admin may approve.
    gate: tuple[str, ...] | None = None

    def decided(self, state: ApprovalState, by: str | None) -> Approval:
        return replace(self, state=state, decided_by=by)


class ApprovalStore(Protocol):
    """Approvals in the bot's database: they outlive a restart and every replica sees them."""

    def add(self, approval: Approval) -> None: ...

    def get(self, approval_id: str) -> Approval | None: ...

    def settle(self, approval_id: str, state: ApprovalState, by: str | None, at: datetime) -> bool:
        """Pending → `state`, once: False when it was no longer pending (a double click, two
        approvers at once), so exactly one decision wins."""
        ...

    def set_thread(self, approval_id: str, channel: str, thread_ts: str) -> None: ...

    def pending(self, now: datetime, limit: int = 50) -> list[Approval]:
        """Requests still waiting for a decision and not expired at `now`, oldest first."""
        ...

    def due(self, now: datetime, limit: int = 50) -> list[Approval]:
        """Requests still pending whose time ran out by `now`, oldest first (to expire)."""
        ...


class ApprovalRefused(NotAuthorized):
    """A click that may not decide this approval (audited as `refused`)."""


class ApprovalExpired(ApprovalRefused):
    """The approval's time ran out before anyone approved it."""


class ChangedSinceApproval(Exception):
    """The ref names another digest than the one approved (branch-deploy's `ref_changed`)."""


def button_value(approval: Approval) -> str:
    """What the Approve and Reject buttons carry: the request and the digest it is bound to."""
    return f"{approval.id}@{approval.digest}"


def parse_value(value: str) -> tuple[str, str]:
    """(approval id, digest) from a button's value; anything else names nothing."""
    approval_id, _, digest = value.partition("@")
    return approval_id[:64], digest[:80]


def check_click(
    approval: Approval | None,
    *,
    user: str,
    digest: str,
    thread_ts: str | None,
    now: datetime,
    approving: bool,
    may_approve: bool,
    is_admin: bool = False,
) -> Approval:
    """Raise ApprovalRefused unless `user` may decide `approval` now: a pending request, clicked
    in its own thread with its own digest, by a listed approver who is not the requester (the
    requester may withdraw with Reject). A request whose scan gate failed is approved only by
    an admin (the override); an approver may still reject it. Expiry is checked after
    who-and-what, so a stranger learns nothing about a request's timing."""
    if approval is None:
        raise ApprovalRefused("No such promotion awaits approval.", "Ask for the promotion again.")
    what = f"{code(approval.app)} {code(approval.ref)} to {code(approval.environment)}"
    if digest != approval.digest or (
        approval.thread_ts is not None and thread_ts is not None and thread_ts != approval.thread_ts
    ):
        raise ApprovalRefused(
            f"This button is not the one for the promotion of {what}.",
            "Use the buttons in that promotion's thread.",
        )
    if approval.state is not ApprovalState.PENDING:
        by = f" by {code(approval.decided_by)}" if approval.decided_by else ""
        raise ApprovalRefused(
            f"The promotion of {what} is already {approval.state.value}{by}.",
            "Ask for the promotion again if it is still wanted.",
        )
    withdrawing = not approving and user == approval.requested_by
    if approving and user == approval.requested_by:
        raise ApprovalRefused(
            f"You asked for the promotion of {what}: someone else must approve it.",
            "Ask one of the environment's approvers.",
        )
    if approving and approval.gate is not None and not is_admin:
        raise ApprovalRefused(
            f"The scan gate failed for the promotion of {what}: only an admin's approval "
            "overrides it.",
            "Ask a platform admin, or promote a digest that passes the gate.",
        )
    if not withdrawing and not may_approve and not (approval.gate is not None and is_admin):
        raise ApprovalRefused(
            f"You may not approve or reject the promotion of {what}.",
            "The environment's `approvers` may; ask #platform-team.",
        )
    if approving and now >= approval.expires_at:
        raise ApprovalExpired(
            f"The approval of {what} expired at {approval.expires_at:%H:%M} UTC.",
            "Ask for the promotion again.",
        )
    return approval


def expires(now: datetime, ttl_s: int) -> datetime:
    return now + timedelta(seconds=ttl_s)


def changed(approval: Approval, found: str | None) -> str:
    """The words for a ref that moved between the approval and the copy."""
    return (
        f"changed since approval: {approval.ref} now names {found or 'nothing'}, not the approved "
        f"{approval.digest}. Nothing was copied: ask for the promotion again."
    )


def gate_changed(approval: Approval) -> str:
    """The words for a scan gate that fails at the copy on findings the approval did not cover."""
    was = "passed" if approval.gate is None else "was overridden on other findings"
    return (
        f"changed since approval: the scan gate {was} when asked, and fails now for "
        f"{approval.digest}. Nothing was copied: ask for the promotion again."
    )
