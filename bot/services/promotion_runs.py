"""Promotions' records and their buttons: Cancel (the requester, or whoever the CANCEL rule
lets stop the app's work), Retry (through every check of a new promotion), and the runs a
restart or a crash left mid-copy, ended as failed with Retry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from bot.domain.access import Access
from bot.domain.approvals import Approval
from bot.domain.cancel import CancelToken, Stop
from bot.domain.commit_diff import CommitDiff
from bot.domain.errors import NotAuthorized
from bot.domain.models import AppSpec
from bot.domain.promotion import Promoted, PromotionNotices, PromotionPlan, PromotionRequest
from bot.domain.promotion import PromotionStep as Step
from bot.domain.promotion_runs import (
    OPEN,
    RUN_ID_CHARS,
    PromotionRun,
    PromotionRunStore,
    RunState,
    not_retryable,
    not_running,
    unknown_run,
)
from bot.domain.scan_gate import Verdict
from bot.domain.text import code
from bot.services.approvals import ApprovalService

log = logging.getLogger(__name__)

# A run nobody touched for this long is taken for dead (its replica crashed) by the sweep: past
# skopeo's own timeout (15 min) and a scan gate's wait, so a slow copy is never failed alive.
STALE_AFTER = timedelta(minutes=30)
INTERRUPTED = (
    "interrupted: ecrbot stopped during this promotion (a restart or a crash), so whether the "
    "copy finished is unknown. Retry promotes it again (what the target already holds is not "
    "sent twice)."
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TrackedNotices:
    """`PromotionNotices` that keep each run's record first, then tell its thread. An outcome
    is told once: a failure that follows a Cancel (the copy killed) is not told again."""

    def __init__(
        self,
        notices: PromotionNotices,
        store: PromotionRunStore,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._notices = notices
        self._store = store
        self._now = now

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None:
        if request.id and request.thread_ts is None:  # after an approval it exists already
            self._store.add(_run_of(request, RunState.RUNNING, self._now(), planned.digest))
        self._notices.started(request, planned)

    def step(self, request: PromotionRequest, step: Step, planned: PromotionPlan) -> None:
        if request.id:
            self._store.touch(request.id, self._now())
        self._notices.step(request, step, planned)

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        self._notices.gated(request, planned, verdict)

    def finished(self, request: PromotionRequest, done: Promoted) -> None:
        # Even after a Cancel: a copy that completed first is what the target holds.
        everything = (*OPEN, RunState.FAILED, RunState.CANCELLED)
        if request.id:
            self._store.move(request.id, RunState.SUCCEEDED, everything, self._now())
        self._notices.finished(request, done)

    def failed(self, request: PromotionRequest, reason: str) -> None:
        if request.id and not self._ended(request, RunState.FAILED):
            log.info("promotion %s ended already; not told again: %s", request.id, reason[:200])
            return
        self._notices.failed(request, reason)

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        if request.id and not self._store.move(
            request.id, RunState.AWAITING, (RunState.RUNNING,), self._now()
        ):
            return  # cancelled while the approval was being asked: the request just expires
        self._notices.awaiting(request, planned, approval, commits)

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        self._notices.cancelled(request, by)

    def _ended(self, request: PromotionRequest, state: RunState) -> bool:
        """Move an open run to `state`; a run never recorded (it failed before it started) is
        recorded so, for its Retry button. False: it had ended already."""
        if self._store.move(request.id, state, OPEN, self._now()):
            return True
        if self._store.get(request.id) is None:
            self._store.add(_run_of(request, state, self._now(), None))
            return True
        return False


class PromotionControl:
    """Cancel, Retry's checks, and the runs left open by a process that died."""

    def __init__(
        self,
        store: PromotionRunStore,
        access: Access,
        apps: Callable[[str], AppSpec | None],
        notices: PromotionNotices,
        approvals: ApprovalService | None = None,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self._access = access
        self._apps = apps
        self._notices = notices
        self._approvals = approvals
        self._now = now
        self._tokens: dict[str, CancelToken] = {}  # runs going on in this process
        self._guard = threading.Lock()

    @contextmanager
    def running(self, run_id: str) -> Iterator[CancelToken]:
        """A token for a run going on here: a Cancel clicked on any replica stops it at its
        next checkpoint (the record says so), one clicked here also kills its copy."""
        token = CancelToken()
        if run_id:
            token.add_check(lambda: self._stopped(run_id))
            with self._guard:
                self._tokens[run_id] = token
        try:
            yield token
        finally:
            with self._guard:
                self._tokens.pop(run_id, None)

    def resume(self, run_id: str) -> bool:
        """An approved run goes on: False when it was cancelled (or ended) meanwhile. A run
        without a record (asked before records existed) goes on."""
        if self.store.move(run_id, RunState.RUNNING, (RunState.AWAITING,), self._now()):
            return True
        return self.store.get(run_id) is None

    def app_of(self, run_id: str) -> str | None:
        """The app of a run, for the audit log only: no access check."""
        run = self.store.get(run_id[:RUN_ID_CHARS])
        return run.app if run is not None else None

    def cancel(self, run_id: str, user: str) -> PromotionRun:
        """Stop a running or waiting promotion: refused (NotAuthorized, audited) to anyone the
        push's cancel rule refuses; told in its thread, whose parent then offers Retry."""
        run = self.store.get(run_id[:RUN_ID_CHARS])
        if run is None:
            raise unknown_run()
        if not self._access.may_stop(user, run.requested_by, self._apps(run.app)):
            raise NotAuthorized(
                f"You may not cancel the promotion of {code(run.app)} to {code(run.environment)}.",
                "Its requester, the app's pushers and the platform admins may.",
            )
        if run.state.finished or not self.store.move(
            run.id, RunState.CANCELLED, OPEN, self._now(), by=user
        ):
            raise not_running(self.store.get(run.id) or run)
        if run.state is RunState.AWAITING and self._approvals is not None:
            self._approvals.cancel(run.id, user)  # its Approve now says "already cancelled"
        with self._guard:
            token = self._tokens.get(run.id)
        if token is not None:
            token.cancel()  # kills a copy going on here
        self._notices.cancelled(request_of(run), user)
        return self.store.get(run.id) or run

    def retryable(self, run_id: str) -> PromotionRun:
        """A run whose Retry may start a new promotion (failed or cancelled, not yet retried)."""
        run = self.store.get(run_id[:RUN_ID_CHARS])
        if run is None:
            raise unknown_run()
        if run.state not in (RunState.FAILED, RunState.CANCELLED) or run.retried_by is not None:
            raise not_retryable(run)
        return run

    def claim_retry(self, run: PromotionRun, user: str) -> None:
        """One Retry click, one new promotion: a double click finds it retried."""
        if not self.store.claim_retry(run.id, user):
            raise not_retryable(self.store.get(run.id) or run)

    def recover(self, everything: bool) -> list[PromotionRun]:
        """End as failed (with Retry) the runs a dead process left `running`: at a single
        process's start, all of them (`everything`); else those stale past STALE_AFTER and
        not going on here. Runs awaiting approval wait on: the click carries them on."""
        before = None if everything else self._now() - STALE_AFTER
        ended = []
        for run in self.store.in_state(RunState.RUNNING, before):
            with self._guard:
                alive = run.id in self._tokens
            if not alive:
                self._notices.failed(request_of(run), INTERRUPTED)  # moves it, once
                ended.append(run)
        return ended

    def expired(self, approval: Approval) -> None:
        """An approval nobody answered in time: its run ends (failed, with Retry)."""
        self.store.move(approval.id, RunState.FAILED, (RunState.AWAITING,), self._now())

    def _stopped(self, run_id: str) -> Stop | None:
        run = self.store.get(run_id)
        return Stop.CANCEL if run is not None and run.state is RunState.CANCELLED else None


def request_of(run: PromotionRun) -> PromotionRequest:
    """A recorded run as a request, told in its own thread."""
    return PromotionRequest(
        run.app,
        run.ref,
        run.environment,
        run.requested_by,
        run.channel,
        thread_ts=run.thread_ts,
        id=run.id,
    )


def _run_of(
    request: PromotionRequest, state: RunState, at: datetime, digest: str | None
) -> PromotionRun:
    return PromotionRun(
        request.id,
        request.app,
        request.ref,
        request.environment,
        request.user,
        request.channel,
        state,
        at,
        thread_ts=request.thread_ts,
        digest=digest,
    )
