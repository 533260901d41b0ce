"""A claim refused by a busy fleet comes back later and later, then leaves it (issue #18)."""

from __future__ import annotations

from bot.runtime.celery_queue import BusyBackoff


def test_a_busy_claim_backs_off_exponentially_with_jitter_capped_and_bounded() -> None:
    top = BusyBackoff(first_s=1.0, cap_s=30.0, attempts=8, jitter=lambda: 0.9999)
    assert [round(top.delay(n) or 0) for n in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert top.delay(8) is None
    low = BusyBackoff(first_s=1.0, cap_s=30.0, attempts=8, jitter=lambda: 0.0)
    assert low.delay(5) == 0.5  # never a hot loop, even at the bottom of the jitter
