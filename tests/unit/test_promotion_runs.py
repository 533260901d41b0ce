"""A promotion's Cancel and Retry, and what a restart leaves: fakes through the constructors
(the run store is the in-memory adapter, the approvals the fake in test_approvals)."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.promotion_store import MemoryPromotionRunStore
from bot.domain.access import Access
from bot.domain.approvals import ApprovalRefused, button_value
from bot.domain.cancel import CancelToken
from bot.domain.errors import NotAuthorized, UsageError
from bot.domain.promotion import CopyFailed, ImageRef, PromotionRequest
from bot.domain.promotion_runs import PromotionRun, RunState
from bot.services.approvals import ApprovalService
from bot.services.promotion_requests import PromotionRequests
from bot.services.promotion_runs import INTERRUPTED, PromotionControl, TrackedNotices
from bot.services.promotions import PromotionService
from tests.fakes import MemoryAuditLog
from tests.unit.test_approvals import Groups, MemoryApprovals
from tests.unit.test_promotion_requests import APP, DIGEST, HOME_REGISTRY, PROD, Copier, Notices

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class StuckCopier(Copier):
    """A copy that runs until cancelled (like skopeo killed by the token), then fails."""

    def __init__(self) -> None:
        super().__init__()
        self.copying = threading.Event()

    def copy(self, source: ImageRef, target: ImageRef, cancel: CancelToken | None = None) -> None:
        stopped = threading.Event()
        if cancel is not None:
            cancel.on_cancel(stopped.set)
        self.copying.set()
        stopped.wait(5)
        raise CopyFailed("the copy was stopped: the promotion was cancelled")


def wiring(copier: Copier, approvers: bool = False):  # type: ignore[no-untyped-def]
    env = dataclasses.replace(PROD, approvers=("S0LEADS",)) if approvers else PROD
    app = dataclasses.replace(APP, environments=(env,))
    access = Access(("U0ADMIN",), Groups())
    service = PromotionService({"my-app": app}.get, access, copier, HOME_REGISTRY)
    runs, notices, approvals = MemoryPromotionRunStore(), Notices(), MemoryApprovals()
    desk = ApprovalService(approvals, access, {"my-app": app}.get, MemoryAuditLog())
    tracked = TrackedNotices(notices, runs, now=lambda: AT)
    control = PromotionControl(runs, access, {"my-app": app}.get, tracked, desk, now=lambda: AT)
    flow = PromotionRequests(
        service, tracked, ThreadPoolExecutor(1), lambda: [app], 2.0, desk if approvers else None,
        control=control,
    )  # fmt: skip
    return flow, notices, runs, approvals


def only_run(runs: MemoryPromotionRunStore, state: RunState) -> PromotionRun:
    (run,) = runs.in_state(state)
    return run


def ask(user: str = "U0ALICE") -> PromotionRequest:
    return PromotionRequest("my-app", "1.0.0", "prod", user, "C0PLATFORM")


def test_the_requester_cancels_a_promotion_waiting_for_approval_and_approve_is_refused() -> None:
    flow, notices, runs, approvals = wiring(Copier(), approvers=True)
    assert flow.submit(ask()) is None and notices.done.wait(5)
    run = only_run(runs, RunState.AWAITING)
    with pytest.raises(NotAuthorized, match="may not cancel the promotion of `my-app`"):
        flow.cancel(run.id, "U0MALLORY")  # a crafted click by an outsider
    assert runs.get(run.id).state is RunState.AWAITING
    done = flow.cancel(run.id, "U0ALICE")
    assert done.state is RunState.CANCELLED and done.ended_by == "U0ALICE"
    assert notices.seen[-1] == "cancelled by U0ALICE"
    value = button_value(approvals.rows[run.id])  # the approval is the promotion's, by id
    with pytest.raises(ApprovalRefused, match="already cancelled by `U0ALICE`"):
        flow.decide(value, "U0BOB", None, approving=True)
    with pytest.raises(UsageError, match="already cancelled"):
        flow.cancel(run.id, "U0ALICE")


def test_cancel_mid_copy_kills_the_copy_and_is_told_once() -> None:
    copier = StuckCopier()
    flow, notices, runs, _ = wiring(copier)
    assert flow.submit(ask()) is None
    assert copier.copying.wait(5)
    run = only_run(runs, RunState.RUNNING)
    flow.cancel(run.id, "U0ADMIN")  # an admin may stop anyone's promotion
    assert notices.done.wait(5)
    threading.Event().wait(0.2)  # the failed copy comes back after the cancel: not told
    assert notices.seen[-1] == "cancelled by U0ADMIN"
    assert not [seen for seen in notices.seen if seen.startswith("failed")]
    assert runs.get(run.id).state is RunState.CANCELLED


def test_retry_after_a_failure_runs_the_same_promotion_once_for_someone_allowed() -> None:
    copier = Copier(fail=True)
    flow, notices, runs, _ = wiring(copier)
    assert flow.submit(ask()) is None and notices.done.wait(5)
    failed = only_run(runs, RunState.FAILED)
    assert notices.seen[-1] == "failed denied: not authorized"
    with pytest.raises(UsageError, match="Nothing to cancel"):
        flow.cancel(failed.id, "U0ALICE")
    with pytest.raises(NotAuthorized, match="may not promote `my-app`"):
        flow.retry(failed.id, "U0MALLORY")
    assert runs.get(failed.id).retried_by is None  # still usable
    copier.fail = False
    notices.done.clear()
    wanted, done = flow.retry(failed.id, "U0ADMIN")
    assert done is None and notices.done.wait(5)
    assert (wanted.app, wanted.ref, wanted.environment, wanted.user) == (
        "my-app", "1.0.0", "prod", "U0ADMIN",
    )  # fmt: skip
    assert notices.seen[-1].startswith("finished copied=True") and copier.copies == 1
    assert only_run(runs, RunState.SUCCEEDED).requested_by == "U0ADMIN"
    with pytest.raises(UsageError, match="already retried by `U0ADMIN`"):
        flow.retry(failed.id, "U0ALICE")


def test_a_restart_ends_a_run_left_mid_copy_as_failed_but_not_one_awaiting_approval() -> None:
    flow, notices, runs, _ = wiring(Copier())
    left = PromotionRun("r1", "my-app", "1.0.0", "prod", "U0ALICE", "C0", RunState.RUNNING, AT,
                        thread_ts="111.1", digest=DIGEST)  # fmt: skip
    waiting = dataclasses.replace(left, id="r2", state=RunState.AWAITING)
    runs.add(left)
    runs.add(waiting)
    flow.recover(everything=False)  # the sweep: not stale yet
    assert runs.get("r1").state is RunState.RUNNING
    flow.recover(everything=True)  # this process's start, alone
    assert runs.get("r1").state is RunState.FAILED
    assert runs.get("r2").state is RunState.AWAITING
    assert notices.seen == [f"failed {INTERRUPTED}"]
    flow.recover(everything=True)  # told once
    assert len(notices.seen) == 1


def test_the_sweep_ends_runs_stale_past_the_copy_timeout() -> None:
    flow, _notices, runs, _ = wiring(Copier())
    old = AT - timedelta(hours=1)
    runs.add(PromotionRun("r1", "my-app", "1.0.0", "prod", "U0ALICE", "C0", RunState.RUNNING, old))
    flow.expire_due()
    assert runs.get("r1").state is RunState.FAILED
