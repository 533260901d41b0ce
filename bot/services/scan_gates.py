"""The scan gate of a promotion: read the digest's findings in the registry it comes from, wait
(bounded) for a scan in progress, and judge them by the environment's `gate:` and the CVE SLA."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.cve_sla import Risk
from bot.domain.promotion import PromotionPlan
from bot.domain.scan_gate import ScanFindings, ScanState, Verdict, duration, judge

POLL_S = 5.0  # ECR's basic scans take seconds to a minute; no need to ask more often


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ScanGates:
    """One verdict per gated promotion; `waiting` is told once when the scan is still running."""

    def __init__(
        self,
        findings: ScanFindings,
        tier_of: Callable[[str], Risk | None],
        now: Callable[[], datetime] = _utcnow,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = POLL_S,
    ) -> None:
        self._findings = findings
        self._tier_of = tier_of
        self._now = now
        self._clock = clock
        self._sleep = sleep
        self._poll_s = poll_s

    def check(self, planned: PromotionPlan, waiting: Callable[[], None] = lambda: None) -> Verdict:
        """The gate's verdict on `planned.digest`; passes when the environment has no gate."""
        gate = planned.target.gate
        if gate is None:
            return Verdict(True, "no scan gate")
        deadline = self._clock() + gate.scan_timeout_s
        result = self._findings.scan(planned.source)
        told = False
        while result.state is ScanState.IN_PROGRESS:
            left = deadline - self._clock()
            if left <= 0:
                waited = duration(gate.scan_timeout_s)
                return Verdict(False, f"the scan was still in progress after {waited}")
            if not told:
                waiting()
                told = True
            self._sleep(min(self._poll_s, left))
            result = self._findings.scan(planned.source)
        return judge(gate, result, self._tier_of(planned.app), self._now())
