"""Approvals of promotions: ask, then let one approver (not the requester) decide, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.access import Access
from bot.domain.approvals import (
    Approval,
    ApprovalExpired,
    ApprovalRefused,
    ApprovalState,
    ApprovalStore,
    check_click,
    expires,
)
from bot.domain.audit import AuditEntry, Kind, Outcome
from bot.domain.models import AppSpec
from bot.domain.ports import AuditLog
from bot.domain.promotion import PromotionPlan, PromotionRequest


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ApprovalService:
    """Requests are stored bound to their digest; a decision is a conditional update, so a
    double click or two approvers at once make exactly one decision."""

    def __init__(
        self,
        store: ApprovalStore,
        access: Access,
        apps: Callable[[str], AppSpec | None],
        audit: AuditLog,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._access = access
        self._apps = apps
        self._audit = audit
        self._now = now

    def request(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        gate: tuple[str, ...] | None = None,
    ) -> Approval:
        """Store a pending approval for `planned.digest`, expiring after the env's TTL (`gate`:
        the findings of a failed scan gate, which only an admin's approval overrides). It takes
        the promotion's id, so the click finds the promotion's record, even after a restart."""
        now = self._now()
        approval = Approval(
            id=request.id or uuid.uuid4().hex,
            app=planned.app,
            ref=request.ref,
            environment=planned.target.name,
            digest=planned.digest,
            tags=planned.tags,
            requested_by=request.user,
            channel=request.channel,
            created_at=now,
            expires_at=expires(now, planned.target.approval_ttl_s),
            gate=gate,
        )
        self._store.add(approval)
        return approval

    def waiting(self, user: str) -> list[Approval]:
        """Open requests this person asked for or may decide (App Home)."""
        found = []
        for approval in self._store.pending(self._now()):
            app = self._apps(approval.app)
            env = app.environment(approval.environment) if app else None
            approvers = env.approvers if env else ()
            deciding = self._access.may_approve(user, approvers) or (
                approval.gate is not None and self._access.is_admin(user)
            )
            if approval.requested_by == user or deciding:
                found.append(approval)
        return found

    def expire_due(self, tell: Callable[[Approval], None]) -> list[Approval]:
        """Expire the requests whose time ran out unanswered, each once (a conditional update:
        every replica may sweep), audited and told in its thread."""
        now = self._now()
        expired = []
        for approval in self._store.due(now):
            if self._store.settle(approval.id, ApprovalState.EXPIRED, None, now):
                self._record(approval, "approval_expired", Outcome.OK, "unanswered")
                done = approval.decided(ApprovalState.EXPIRED, None)
                expired.append(done)
                tell(done)
        return expired

    def cancel(self, approval_id: str, user: str) -> bool:
        """Its promotion was cancelled: a later Approve finds it `cancelled by` `user`."""
        return self._store.settle(approval_id, ApprovalState.CANCELLED, user, self._now())

    def remember_thread(self, approval_id: str, channel: str, thread_ts: str) -> None:
        self._store.set_thread(approval_id, channel, thread_ts)

    def decide(
        self, value: tuple[str, str], user: str, thread_ts: str | None, approving: bool
    ) -> Approval:
        """Approve or reject; raises ApprovalRefused (audited `refused` by the listener)."""
        approval_id, digest = value
        approval = self._store.get(approval_id) if approval_id else None
        app = self._apps(approval.app) if approval is not None else None
        env = next(
            (
                e
                for e in (app.environments if app else ())
                if approval and e.name == approval.environment
            ),
            None,
        )
        may = env is not None and self._access.may_approve(user, env.approvers)
        now = self._now()
        try:
            check_click(
                approval,
                user=user,
                digest=digest,
                thread_ts=thread_ts,
                now=now,
                approving=approving,
                may_approve=may,
                is_admin=self._access.is_admin(user),
            )
        except ApprovalExpired:
            assert approval is not None
            if self._store.settle(approval.id, ApprovalState.EXPIRED, None, now):
                self._record(approval, "approval_expired", Outcome.OK, f"clicked by {user}")
            raise
        assert approval is not None
        state = ApprovalState.APPROVED if approving else ApprovalState.REJECTED
        if not self._store.settle(approval.id, state, user, now):
            raise ApprovalRefused("Someone decided this promotion a moment ago.", "See its thread.")
        if approving and approval.gate is not None:
            self._override(approval, user)
        return approval.decided(state, user)

    def _override(self, approval: Approval, admin: str) -> None:
        """An admin's approval overrides the failed scan gate: audited in the admin's name."""
        findings = ", ".join(approval.gate or ()) or "no usable scan"
        self._audit.record(
            AuditEntry(
                admin,
                Kind.BUTTON,
                "gate_override",
                Outcome.OK,
                approval.app,
                approval.channel,
                f"{approval.ref} -> {approval.environment}: {approval.digest} "
                f"(asked by {approval.requested_by}; failing: {findings})"[:500],
                None,
            )
        )

    def _record(self, approval: Approval, action: str, outcome: Outcome, detail: str) -> None:
        self._audit.record(
            AuditEntry(
                approval.requested_by,
                Kind.BUTTON,
                action,
                outcome,
                approval.app,
                approval.channel,
                f"{approval.ref} -> {approval.environment}: {approval.digest} ({detail})",
                None,
            )
        )
