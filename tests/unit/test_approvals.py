"""Two-person approval of a promotion: the rules (who may click, which digest, until when) and
the flow (ask in the thread, approve, re-check the ref just before the copy, copy)."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.access import Access
from bot.domain.approvals import (
    Approval,
    ApprovalExpired,
    ApprovalRefused,
    ApprovalState,
    button_value,
    check_click,
    parse_value,
)
from bot.services.approvals import ApprovalService
from bot.services.promotion_requests import PromotionRequests
from bot.services.promotions import PromotionService
from tests.fakes import MemoryAuditLog
from tests.unit.test_promotion_requests import (
    APP,
    DIGEST,
    HOME_REGISTRY,
    PROD,
    Copier,
    Notices,
    ask,
)

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OTHER = "sha256:" + "c" * 64
PENDING = Approval(
    "a1", "my-app", "1.0.0", "prod", DIGEST, ("1.0.0",), "U0ALICE", "C0", AT,
    AT + timedelta(minutes=30), thread_ts="111.1",
)  # fmt: skip


def click(user: str = "U0BOB", **changes: Any) -> Approval:
    args: dict[str, Any] = {
        "user": user,
        "digest": DIGEST,
        "thread_ts": "111.1",
        "now": AT + timedelta(minutes=1),
        "approving": True,
        "may_approve": True,
    }
    return check_click(PENDING, **(args | changes))


def test_a_listed_approver_who_did_not_ask_may_approve() -> None:
    assert click() == PENDING


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"user": "U0ALICE"}, "someone else must approve"),  # the requester's own Approve
        ({"may_approve": False}, "may not approve"),  # not a listed approver
        ({"digest": OTHER}, "not the one for the promotion"),  # a crafted value
        ({"thread_ts": "999.9"}, "not the one for the promotion"),  # another request's thread
    ],
)
def test_refused_clicks(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ApprovalRefused, match=words):
        click(**changes)


def test_an_approve_after_the_ttl_is_expired_and_the_requester_may_withdraw() -> None:
    with pytest.raises(ApprovalExpired, match="expired"):
        click(now=AT + timedelta(minutes=30))
    assert click(user="U0ALICE", approving=False, may_approve=False) == PENDING
    with pytest.raises(ApprovalRefused, match="already approved"):
        check_click(
            PENDING.decided(ApprovalState.APPROVED, "U0BOB"),
            user="U0CAROL", digest=DIGEST, thread_ts=None, now=AT, approving=True,
            may_approve=True,
        )  # fmt: skip
    with pytest.raises(ApprovalRefused, match="No such promotion"):
        check_click(
            None, user="U0BOB", digest=DIGEST, thread_ts=None, now=AT, approving=True,
            may_approve=True,
        )  # fmt: skip


def test_the_button_value_binds_the_request_and_the_digest() -> None:
    assert parse_value(button_value(PENDING)) == ("a1", DIGEST)
    assert parse_value("garbage") == ("garbage", "")


class MemoryApprovals:
    def __init__(self) -> None:
        self.rows: dict[str, Approval] = {}
        self.guard = threading.Lock()

    def add(self, approval: Approval) -> None:
        self.rows[approval.id] = approval

    def get(self, approval_id: str) -> Approval | None:
        return self.rows.get(approval_id)

    def settle(self, approval_id: str, state: ApprovalState, by: str | None, at: datetime) -> bool:
        with self.guard:
            row = self.rows[approval_id]
            if row.state is not ApprovalState.PENDING:
                return False
            self.rows[approval_id] = row.decided(state, by)
            return True

    def set_thread(self, approval_id: str, channel: str, thread_ts: str) -> None:
        self.rows[approval_id] = dataclasses.replace(self.rows[approval_id], thread_ts=thread_ts)

    def pending(self, now: datetime, limit: int = 50) -> list[Approval]:
        waiting = [a for a in self.rows.values() if a.state is ApprovalState.PENDING]
        return sorted((a for a in waiting if a.expires_at > now), key=lambda a: a.created_at)[
            :limit
        ]

    def due(self, now: datetime, limit: int = 50) -> list[Approval]:
        waiting = [a for a in self.rows.values() if a.state is ApprovalState.PENDING]
        return sorted((a for a in waiting if a.expires_at <= now), key=lambda a: a.created_at)[
            :limit
        ]


class Groups:
    def members(self, group_id: str) -> frozenset[str]:
        return frozenset({"U0ALICE", "U0BOB"}) if group_id == "S0LEADS" else frozenset()


def flow(copier: Copier, now: list[datetime]):  # type: ignore[no-untyped-def]
    guarded = dataclasses.replace(PROD, approvers=("S0LEADS",), approval_ttl_s=600)
    app = dataclasses.replace(APP, environments=(guarded,))
    access = Access(("U0ADMIN",), Groups())
    service = PromotionService({"my-app": app}.get, access, copier, HOME_REGISTRY)
    store, audit, notices = MemoryApprovals(), MemoryAuditLog(), Notices()
    desk = ApprovalService(store, access, {"my-app": app}.get, audit, now=lambda: now[0])
    requests = PromotionRequests(
        service, notices, ThreadPoolExecutor(1), lambda: [app], 2.0, approvals=desk
    )
    return requests, notices, store, audit


def asked(copier: Copier, now: list[datetime]):  # type: ignore[no-untyped-def]
    requests, notices, store, audit = flow(copier, now)
    assert requests.submit(ask()) is None
    assert notices.done.wait(5)
    assert notices.seen == ["started", "resolved", f"awaiting {DIGEST}"]
    (approval,) = store.rows.values()
    assert approval.expires_at == AT + timedelta(minutes=10)
    notices.done.clear()
    return requests, notices, approval, audit


def test_approved_by_another_approver_the_digest_is_copied() -> None:
    copier = Copier()
    requests, notices, approval, _ = asked(copier, [AT])
    value = button_value(approval)
    with pytest.raises(ApprovalRefused, match="someone else"):
        requests.decide(value, "U0ALICE", None, approving=True)
    with pytest.raises(ApprovalRefused, match="may not approve"):
        requests.decide(value, "U0MALLORY", None, approving=True)
    with pytest.raises(ApprovalRefused, match="not the one"):
        requests.decide(f"{approval.id}@{OTHER}", "U0BOB", None, approving=True)
    assert copier.copies == 0
    requests.decide(value, "U0BOB", None, approving=True)
    assert notices.done.wait(5)
    assert notices.seen[-3:-1] == ["copying", "verified"] and copier.copies == 1
    with pytest.raises(ApprovalRefused, match="already approved"):
        requests.decide(value, "U0BOB", None, approving=True)


def test_a_ref_moved_after_the_approval_is_not_copied() -> None:
    copier = Copier()
    requests, notices, approval, _ = asked(copier, [AT])
    copier.images[f"{HOME_REGISTRY.host}/my-app:1.0.0"] = OTHER  # someone moved the tag
    requests.decide(button_value(approval), "U0BOB", None, approving=True)
    assert notices.done.wait(5)
    assert (
        notices.seen[-1].startswith("failed changed since approval") and OTHER in notices.seen[-1]
    )
    assert copier.copies == 0


def test_expiry_and_rejection_are_audited_and_end_it() -> None:
    now = [AT]
    copier = Copier()
    requests, notices, approval, audit = asked(copier, now)
    now[0] = AT + timedelta(minutes=11)
    with pytest.raises(ApprovalExpired):
        requests.decide(button_value(approval), "U0BOB", None, approving=True)
    assert [e.action for e in audit.recorded] == ["approval_expired"]
    with pytest.raises(ApprovalRefused, match="already expired"):
        requests.decide(button_value(approval), "U0BOB", None, approving=False)

    requests, notices, approval, audit = asked(copier, [AT])
    requests.decide(button_value(approval), "U0ALICE", None, approving=False)  # withdrawn
    assert notices.seen[-1] == "failed rejected by U0ALICE" and copier.copies == 0


def test_open_requests_are_listed_for_the_requester_and_the_approvers_until_decided() -> None:
    now = [AT]
    requests, _, approval, _ = asked(Copier(), now)
    assert requests.waiting("U0ALICE") == [approval]  # asked for it
    assert requests.waiting("U0BOB") == [approval]  # one of the release leads
    assert requests.waiting("U0MALLORY") == []  # neither
    assert requests.waiting("U0ADMIN") == []  # admins approve only a failed gate
    now[0] = AT + timedelta(minutes=11)
    assert requests.waiting("U0BOB") == []  # expired
    now[0] = AT
    requests.decide(button_value(approval), "U0BOB", None, approving=True)
    assert requests.waiting("U0ALICE") == []  # decided


def test_a_request_past_its_ttl_expires_on_its_own_once_audited_and_told() -> None:
    now = [AT]
    requests, _, approval, audit = asked(Copier(), now)
    told: list[Approval] = []
    desk = requests._approvals
    assert desk is not None
    assert desk.expire_due(told.append) == [] and told == []  # not due yet
    now[0] = AT + timedelta(minutes=10)  # the TTL: due
    (gone,) = desk.expire_due(told.append)
    assert gone.id == approval.id and gone.state is ApprovalState.EXPIRED and told == [gone]
    assert desk.expire_due(told.append) == [] and len(told) == 1  # once, whoever sweeps again
    assert [e.action for e in audit.recorded if e.action == "approval_expired"] == [
        "approval_expired"
    ]
    with pytest.raises(ApprovalRefused):
        requests.decide(button_value(approval), "U0BOB", None, approving=True)
