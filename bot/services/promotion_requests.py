"""`/ecr promote` off the request thread: authorize and check the locks while Slack waits, copy
on the `promotions` pool, and answer "already there" in the acknowledgement when it is quick."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import replace

from bot.domain.approvals import Approval, ApprovalRefused, changed, gate_changed, parse_value
from bot.domain.cancel import CancelToken
from bot.domain.commit_diff import CommitDiff
from bot.domain.errors import Cancelled, StepError, UserError, new_error_id
from bot.domain.models import AppSpec
from bot.domain.on_behalf import OnBehalf, acting_for
from bot.domain.promotion import (
    CopyFailed,
    DigestMismatch,
    Promoted,
    PromotionNotices,
    PromotionPlan,
    PromotionRequest,
    PromotionStep,
)
from bot.domain.promotion_runs import ListedPromotion, PromotionRun
from bot.domain.scan_gate import Verdict, within
from bot.services.approvals import ApprovalService
from bot.services.promotion_list import PromotionListing
from bot.services.promotion_runs import PromotionControl
from bot.services.promotions import PromotionService

log = logging.getLogger(__name__)

# How long the acknowledgement waits for the resolve: "already there" (two digest reads) is
# answered in it; anything longer, or a copy, goes on in a thread. Slack's limit is 3 s.
ANSWER_WITHIN_S = 1.5


class _Handoff:
    """Who tells the outcome: the acknowledgement if it is still waiting, else the thread."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._ready = threading.Event()
        self._open = True
        self._value: Promoted | UserError | None = None

    def offer(self, value: Promoted | UserError | None) -> bool:
        """True when the waiting acknowledgement took `value` (None: "see the thread")."""
        with self._guard:
            if not self._open:
                return False
            self._open, self._value = False, value
            self._ready.set()
            return value is not None

    def wait(self, timeout: float) -> Promoted | None:
        self._ready.wait(timeout)
        with self._guard:
            self._open = False
            value = self._value
        if isinstance(value, UserError):
            raise value
        return value


class PromotionRequests:
    """Every Slack promotion goes through here; the terminal calls PromotionService directly."""

    def __init__(
        self,
        service: PromotionService,
        notices: PromotionNotices,
        pool: Executor,
        all_apps: Callable[[], list[AppSpec]],
        answer_within_s: float = ANSWER_WITHIN_S,
        approvals: ApprovalService | None = None,
        on_expired: Callable[[Approval], None] = lambda approval: None,
        control: PromotionControl | None = None,
        commits: Callable[[PromotionPlan], CommitDiff] | None = None,
        listing: PromotionListing | None = None,
    ) -> None:
        self._listing = listing  # None: no records, so nothing to list
        self._control = control  # None: no records, so no Cancel or Retry buttons work
        self._commits = commits  # the commits an approver reads (None: not listed)
        self._approvals = approvals
        self._on_expired = on_expired  # an approval request that expired unanswered, told
        self._service = service
        self._notices = notices
        self._pool = pool
        self._all_apps = all_apps
        self._answer_within_s = answer_within_s

    def submit(self, request: PromotionRequest) -> Promoted | None:
        """Refusals (access, locks: who, when, why) raise here. Returns the outcome when the
        target already holds the digest and that was known quickly; None: the thread tells."""
        app = self._service.app(request.app, request.user, self._all_apps())
        self._service.check_lock(app.name, request.environment)
        request = replace(request, id=request.id or uuid.uuid4().hex)
        handoff = _Handoff()
        # Every AWS call of the promotion is made for the requester (SourceIdentity, tags).
        who = _on_behalf(request.user, app.name, request.environment)
        self._pool.submit(acting_for, who, self._run, request, handoff)
        return handoff.wait(self._answer_within_s)

    def _run(self, request: PromotionRequest, handoff: _Handoff) -> None:
        with self._running(request.id) as token:
            self._steps(request, handoff, token)

    def _steps(self, request: PromotionRequest, handoff: _Handoff, token: CancelToken) -> None:
        started = self._service.now()
        try:
            # Authorized and lock-checked again: the pool may have made it wait.
            planned = self._service.resolve(
                request.app,
                request.ref,
                request.environment,
                request.user,
                approvals=self._approvals is not None,
            )
            if self._service.held(planned):
                uris = tuple(str(planned.target_ref(tag)) for tag in planned.tags)
                done = Promoted(planned, False, uris, self._service.elapsed(started))
                if not handoff.offer(done):
                    self._notices.started(request, planned)
                    self._notices.finished(request, done)
                return
        except UserError as error:
            if not handoff.offer(error):
                self._notices.failed(request, str(error))
            return
        except Exception as error:
            handoff.offer(None)
            self._notices.failed(request, _explained(error))
            return
        handoff.offer(None)
        try:  # the thread: resolve → gate → approval → copy → verify
            self._notices.started(request, planned)
            self._notices.step(request, PromotionStep.RESOLVED, planned)
            token.checkpoint()
            verdict = self._gate(request, planned)
            token.checkpoint()
        except Exception as error:
            self._fail(request, error)
            return
        if not verdict.passed:
            # Refused with the findings (told by `gated`); only an admin's approval overrides.
            if self._approvals is None:
                self._notices.failed(
                    request,
                    "the scan gate fails, and without approvals (they need the bot's database) "
                    "no admin can override it: nothing was copied",
                )
                return
            self._ask(request, planned, self._approvals, verdict.keys())
            return
        if planned.target.approvers and self._approvals is not None:
            self._ask(request, planned, self._approvals)
            return
        self._copy(request, planned, started, token)

    def _gate(
        self, request: PromotionRequest, planned: PromotionPlan, tell: bool = True
    ) -> Verdict:
        """The scan gate's verdict, told in the thread (`tell`); waiting for a scan is a step
        there."""
        if planned.target.gate is None:
            return Verdict(True, "no scan gate")

        def waiting() -> None:
            self._notices.step(request, PromotionStep.SCANNING, planned)

        verdict = self._service.gate(planned, waiting)
        if tell:
            self._notices.gated(request, planned, verdict)
        return verdict

    def _ask(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        desk: ApprovalService,
        gate: tuple[str, ...] | None = None,
    ) -> None:
        try:
            approval = desk.request(request, planned, gate)
            self._notices.awaiting(request, planned, approval, self._commits_of(planned))
        except Exception as error:
            self._fail(request, error)

    def _commits_of(self, planned: PromotionPlan) -> CommitDiff | None:
        if self._commits is None:
            return None
        try:
            return self._commits(planned)
        except Exception as error:  # the list is a help to the approver, never a blocker
            log.warning("commits for the approval not read: %s", type(error).__name__)
            return None

    def expire_due(self) -> None:
        """The scheduled sweep: requests whose time ran out unanswered end on their own, and
        runs a crashed replica left mid-copy end as failed (with Retry)."""
        if self._approvals is not None:
            self._approvals.expire_due(self._expired)
        if self._control is not None:
            self._control.recover(everything=False)

    def _expired(self, approval: Approval) -> None:
        if self._control is not None:
            self._control.expired(approval)
        self._on_expired(approval)

    def recover(self, everything: bool) -> None:
        """At start: runs left mid-copy by the process before this one end as failed."""
        if self._control is not None:
            self._control.recover(everything)

    def cancel(self, run_id: str, user: str) -> PromotionRun:
        """The Cancel button: refusals raise here (for the ephemeral answer)."""
        return self._controlled().cancel(run_id, user)

    def retry(
        self, run_id: str, user: str, reply_url: str | None = None
    ) -> tuple[PromotionRequest, Promoted | None]:
        """The Retry button: the same app, ref and environment, asked again by `user` through
        every check (may they promote, locks, the gate, the approval)."""
        control = self._controlled()
        run = control.retryable(run_id)
        self._service.app(run.app, user)  # refusals first: they leave the Retry button usable
        self._service.check_lock(run.app, run.environment)
        control.claim_retry(run, user)
        wanted = PromotionRequest(run.app, run.ref, run.environment, user, run.channel, reply_url)
        wanted = replace(wanted, id=uuid.uuid4().hex)
        return wanted, self.submit(wanted)

    def app_of(self, run_id: str) -> str | None:
        """The app a button's promotion is about, for the audit log only."""
        return self._control.app_of(run_id) if self._control is not None else None

    def _controlled(self) -> PromotionControl:
        if self._control is None:
            raise UserError("Promotions are not recorded here.", "Ask #platform-team.")
        return self._control

    @contextmanager
    def _running(self, run_id: str) -> Iterator[CancelToken]:
        if self._control is None:
            yield CancelToken()
            return
        with self._control.running(run_id) as token:
            yield token

    def recent(self, user: str, limit: int = 10) -> list[ListedPromotion]:
        """The newest promotions this person may see (`/ecr jobs`, App Home)."""
        return self._listing.recent(user, limit) if self._listing is not None else []

    def waiting(self, user: str) -> list[Approval]:
        """Approval requests open for this person (App Home); none without a database."""
        return self._approvals.waiting(user) if self._approvals is not None else []

    def decide(self, value: str, user: str, thread_ts: str | None, approving: bool) -> Approval:
        """An Approve or Reject click: refusals raise here (for the ephemeral answer); an
        approval goes on to the copy on the pool, a rejection ends the thread."""
        if self._approvals is None:
            raise ApprovalRefused("Approvals are not set up here.", "Ask #platform-team.")
        approval = self._approvals.decide(parse_value(value), user, thread_ts, approving)
        if approving:
            who = _on_behalf(approval.requested_by, approval.app, approval.environment)
            self._pool.submit(acting_for, who, self._approved, approval)
        else:
            self._notices.failed(_request_of(approval), f"rejected by {user}")
        return approval

    def _approved(self, approval: Approval) -> None:
        """Re-check just before the copy: the ref still names the approved digest (else
        "changed since approval"), the target is not locked, the requester may still promote."""
        request = _request_of(approval)
        if self._control is not None and not self._control.resume(approval.id):
            return  # cancelled while it waited: its thread says so already
        with self._running(approval.id) as token:
            self._go_on(approval, request, token)

    def _go_on(self, approval: Approval, request: PromotionRequest, token: CancelToken) -> None:
        started = self._service.now()
        try:
            planned = self._service.resolve(
                approval.app, approval.ref, approval.environment, approval.requested_by, True
            )
        except UserError as error:
            self._notices.failed(request, str(error))
            return
        except Exception as error:
            self._notices.failed(request, _explained(error))
            return
        if planned.digest != approval.digest:
            self._notices.failed(request, changed(approval, planned.digest))
            return
        try:  # the gate again: findings are published every day
            verdict = self._gate(request, planned, tell=False)
        except Exception as error:
            self._notices.failed(request, _explained(error))
            return
        if not verdict.passed and (approval.gate is None or not within(approval.gate, verdict)):
            # The gate passed when asked, or fails now on findings the admin did not override.
            self._notices.failed(request, f"{gate_changed(approval)} ({verdict.reason()})")
            return
        self._copy(request, planned, started, token)

    def _copy(
        self, request: PromotionRequest, planned: PromotionPlan, started: float, token: CancelToken
    ) -> None:
        try:
            token.checkpoint()
            self._notices.step(request, PromotionStep.COPYING, planned)
            copied = self._service.copy(planned, token)
            uris = self._service.verify(planned)
            self._notices.step(request, PromotionStep.VERIFIED, planned)
            elapsed = self._service.elapsed(started)
            self._notices.finished(request, Promoted(planned, copied, uris, elapsed))
        except Exception as error:
            self._fail(request, error)

    def _fail(self, request: PromotionRequest, error: Exception) -> None:
        """Told in the thread, unless a Cancel stopped it (its thread says so already)."""
        if isinstance(error, Cancelled):
            return
        self._notices.failed(request, _explained(error))


def _on_behalf(user: str, app: str, environment: str) -> OnBehalf:
    """The person a promotion's AWS calls are made for: the requester, as ecrbot recorded them
    (an approver agreed to it; the request is still theirs)."""
    return OnBehalf(user, app, f"promote-{environment}")


def _request_of(approval: Approval) -> PromotionRequest:
    """The approved request, told in its own thread (the one ecrbot recorded, not the click's)."""
    return PromotionRequest(
        approval.app,
        approval.ref,
        approval.environment,
        approval.requested_by,
        approval.channel,
        thread_ts=approval.thread_ts,
        id=approval.id,
    )


def _explained(error: Exception) -> str:
    """Plain words for a failed promotion; an unexpected error gets an id the log also has."""
    if isinstance(error, (UserError, CopyFailed, DigestMismatch)):
        return str(error)
    if isinstance(error, StepError):
        return error.raw
    error_id = new_error_id()
    log.error("promotion failed: error %s", error_id, exc_info=error)
    return f"Something went wrong (error id {error_id})."
