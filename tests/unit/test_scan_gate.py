"""The promotion scan gate: the pure verdict (findings + the gate + the CVE SLA + now), the
bounded wait for a scan in progress, and the flow: refused with its findings, a non-admin's
Approve refused, an admin's Approve overriding it (audited), re-checked just before the copy."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.access import Access
from bot.domain.approvals import ApprovalRefused, button_value
from bot.domain.environments import Gate
from bot.domain.promotion import ImageRef, NeedsApproval
from bot.domain.scan_gate import (
    Finding,
    GateRefused,
    ScanResult,
    ScanState,
    judge,
    within,
)
from bot.services.approvals import ApprovalService
from bot.services.promotion_requests import PromotionRequests
from bot.services.promotions import PromotionService
from bot.services.scan_gates import ScanGates
from tests.fakes import MemoryAuditLog
from tests.unit.test_approvals import Groups, MemoryApprovals
from tests.unit.test_promotion_requests import (
    APP,
    DIGEST,
    HOME_REGISTRY,
    PROD,
    Copier,
    Notices,
    ask,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PUSHED = NOW - timedelta(days=10)
PROD_GATE = Gate(critical=0, high_past_sla=0)


def done(*findings: Finding) -> ScanResult:
    return ScanResult(ScanState.DONE, findings, PUSHED)


def test_a_critical_finding_fails_a_no_critical_gate_and_is_named() -> None:
    verdict = judge(PROD_GATE, done(Finding("CVE-2026-1", "CRITICAL")), None, NOW)
    assert not verdict.passed and verdict.keys() == ("CVE-2026-1",)
    assert verdict.reason() == (
        "the scan gate fails: 1 critical (at most 0): CVE-2026-1 (critical)"
    )
    assert judge(Gate(critical=1), done(Finding("CVE-2026-1", "CRITICAL")), None, NOW).passed


def test_a_high_finding_fails_only_once_past_the_reports_sla() -> None:
    # The report's rule: the tier's days (high 7, medium 14, low 30) from first seen or the push.
    fresh = Finding("CVE-H1", "HIGH", since=NOW - timedelta(days=3))
    old = Finding("CVE-H2", "HIGH", since=NOW - timedelta(days=20))
    assert judge(PROD_GATE, done(fresh), "high", NOW).passed  # 3 of 7 days
    verdict = judge(PROD_GATE, done(fresh, old), "high", NOW)
    assert not verdict.passed and verdict.keys() == ("CVE-H2",)
    assert "CVE-H2 (high, 13 days past its SLA)" in verdict.reason()
    assert judge(PROD_GATE, done(fresh, old), "low", NOW).passed  # 20 of 30 days
    unseen = Finding("CVE-H3", "HIGH")  # basic scanning: counted from the push, 10 days ago
    assert not judge(PROD_GATE, done(unseen), "high", NOW).passed
    assert judge(PROD_GATE, done(unseen), "medium", NOW).passed
    no_push = ScanResult(ScanState.DONE, (unseen,))  # neither sighting nor push known
    assert "CVE-H3 (high, age unknown" in judge(PROD_GATE, no_push, "low", NOW).reason()


def test_the_worst_severity_of_a_cve_counts_once_and_untriaged_is_not_critical() -> None:
    findings = (
        Finding("CVE-1", "HIGH"),
        Finding("CVE-1", "CRITICAL"),
        Finding("CVE-1", "CRITICAL"),
        Finding("CVE-2", "UNTRIAGED"),
    )
    verdict = judge(PROD_GATE, done(*findings), "low", NOW)
    assert verdict.keys() == ("CVE-1",) and "1 critical" in verdict.summary


@pytest.mark.parametrize(
    "state", [ScanState.NOT_SCANNED, ScanState.FAILED, ScanState.UNSCANNABLE, ScanState.UNREADABLE]
)
def test_no_usable_scan_is_unknown_not_clean(state: ScanState) -> None:
    verdict = judge(Gate(), ScanResult(state, detail="AccessDenied"), None, NOW)
    assert not verdict.passed and "unknown, not clean" in verdict.summary
    assert verdict.keys() == ()


def test_too_many_findings_to_read_are_not_judged() -> None:
    result = dataclasses.replace(done(), truncated=True)
    assert not judge(PROD_GATE, result, None, NOW).passed


def test_a_refusal_names_at_most_ten_findings() -> None:
    many = tuple(Finding(f"CVE-{i:02}", "CRITICAL") for i in range(25))
    reason = judge(PROD_GATE, done(*many), None, NOW).reason()
    assert "CVE-09" in reason and "CVE-10" not in reason and reason.endswith("and 15 more")


def test_an_override_covers_the_findings_it_named_and_no_others() -> None:
    one = judge(PROD_GATE, done(Finding("CVE-1", "CRITICAL")), None, NOW)
    two = judge(
        PROD_GATE, done(Finding("CVE-1", "CRITICAL"), Finding("CVE-2", "CRITICAL")), None, NOW
    )
    assert within(two.keys(), one) and not within(one.keys(), two)


class Scans:
    """A scanner fake: answers in order, the last answer repeated."""

    def __init__(self, *answers: ScanResult) -> None:
        self.answers, self.asked = list(answers), 0

    def scan(self, image: ImageRef) -> ScanResult:
        self.asked += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def gates(scans: Scans, clock: Clock) -> ScanGates:
    return ScanGates(scans, lambda app: None, lambda: NOW, clock, clock.sleep, poll_s=5)


def test_the_wait_for_a_scan_in_progress_is_told_once_and_bounded() -> None:
    gated = dataclasses.replace(PROD, gate=Gate(critical=0, scan_timeout_s=60))
    planned = PromotionService({"my-app": APP}.get, Access((), Groups()), Copier(), HOME_REGISTRY)
    plan = dataclasses.replace(planned.resolve("my-app", "1.0.0", "prod", None), target=gated)
    told: list[str] = []
    clock = Clock()
    running = ScanResult(ScanState.IN_PROGRESS)
    scans = Scans(running, running, done(Finding("CVE-1", "LOW")))
    assert gates(scans, clock).check(plan, lambda: told.append("waiting")).passed
    assert told == ["waiting"] and scans.asked == 3 and clock.t == 10
    clock, told = Clock(), []
    verdict = gates(Scans(running), clock).check(plan, lambda: told.append("waiting"))
    assert not verdict.passed and "still in progress after 1 min" in verdict.summary
    assert clock.t == 60 and told == ["waiting"]


def flow(scans: Scans, approvers: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """`prod` gated (no critical): only an admin may override a failing gate."""
    gated = dataclasses.replace(PROD, gate=PROD_GATE, approvers=approvers)
    app = dataclasses.replace(APP, environments=(gated,))
    access = Access(("U0ADMIN",), Groups())
    copier = Copier()
    checker = ScanGates(scans, lambda name: None, lambda: NOW, poll_s=0)
    service = PromotionService({"my-app": app}.get, access, copier, HOME_REGISTRY, gates=checker)
    store, audit, notices = MemoryApprovals(), MemoryAuditLog(), Notices()
    desk = ApprovalService(store, access, {"my-app": app}.get, audit, now=lambda: NOW)
    requests = PromotionRequests(service, notices, _Inline(), lambda: [app], 2.0, approvals=desk)
    return requests, notices, store, audit, copier, service


class _Inline(Executor):
    """An executor that runs at once: the flow's steps in order, no threads."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


CRITICAL = done(Finding("CVE-2026-1", "CRITICAL"))


def test_a_gate_refuses_a_critical_finding_and_only_an_admin_overrides_it() -> None:
    requests, notices, store, audit, copier, _ = flow(Scans(CRITICAL))
    requests.submit(ask())
    assert notices.seen[:3] == [
        "started",
        "resolved",
        "gate the scan gate fails: 1 critical (at most 0): CVE-2026-1 (critical)",
    ]
    (approval,) = store.rows.values()
    assert approval.gate == ("CVE-2026-1",) and notices.seen[-1] == f"awaiting {DIGEST}"
    value = button_value(approval)
    with pytest.raises(ApprovalRefused, match="someone else must approve"):
        requests.decide(value, "U0ALICE", None, True)  # the requester
    with pytest.raises(ApprovalRefused, match="only an admin's approval overrides it"):
        requests.decide(value, "U0BOB", None, True)  # not an admin
    assert copier.copies == 0
    requests.decide(value, "U0ADMIN", None, True)
    assert copier.copies == 1 and notices.seen[-1].startswith("finished copied=True")
    (override,) = [e for e in audit.recorded if e.action == "gate_override"]
    assert override.user == "U0ADMIN" and "CVE-2026-1" in override.detail


def test_a_gate_that_fails_on_new_findings_after_the_override_stops_the_copy() -> None:
    worse = done(Finding("CVE-2026-1", "CRITICAL"), Finding("CVE-2026-2", "CRITICAL"))
    requests, notices, store, _, copier, _ = flow(Scans(CRITICAL, worse))
    requests.submit(ask())
    (approval,) = store.rows.values()
    requests.decide(button_value(approval), "U0ADMIN", None, True)
    assert copier.copies == 0
    assert notices.seen[-1].startswith("failed changed since approval: the scan gate")
    assert "CVE-2026-2" in notices.seen[-1]


def test_a_gate_that_passed_when_asked_and_fails_at_the_copy_stops_it() -> None:
    requests, notices, store, _, copier, _ = flow(Scans(done(), CRITICAL), approvers=("S0LEADS",))
    requests.submit(ask())
    (approval,) = store.rows.values()
    assert approval.gate is None  # passed: the environment's approvers decide
    requests.decide(button_value(approval), "U0BOB", None, True)
    assert copier.copies == 0
    assert notices.seen[-1].startswith("failed changed since approval: the scan gate passed")


def test_a_passing_gate_copies_and_the_terminal_refuses_a_failing_one() -> None:
    requests, notices, _, _, copier, service = flow(Scans(done(Finding("CVE-L", "LOW"))))
    requests.submit(ask())
    assert notices.seen[2].startswith("gate the scan gate passes: 0 critical")
    assert copier.copies == 1
    _, _, _, _, copier, service = flow(Scans(CRITICAL))
    with pytest.raises(GateRefused, match="CVE-2026-1"):
        service.promote("my-app", "1.0.0", "prod", user=None)
    assert copier.copies == 0


def test_without_a_scan_reader_a_gated_environment_is_refused() -> None:
    app = dataclasses.replace(APP, environments=(dataclasses.replace(PROD, gate=PROD_GATE),))
    service = PromotionService({"my-app": app}.get, Access((), Groups()), Copier(), HOME_REGISTRY)
    with pytest.raises(NeedsApproval, match="asks for `gate`"):
        service.promote("my-app", "1.0.0", "prod", user=None)
