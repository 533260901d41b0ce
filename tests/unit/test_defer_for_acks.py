"""How SQLite's writer and the audit writer wait for the acknowledgements in flight before they
write: up to ten times AckFirst's bound, in slices of a tenth of it, and not a slice longer once
someone waits for the write (issue #19)."""

from __future__ import annotations

from bot.adapters.sqlite_writer import DEFER, SLICE, defer_for_acks


def test_a_write_nobody_waits_for_waits_ten_bounds_in_slices() -> None:
    asked: list[float] = []
    defer_for_acks(asked.append, lambda: False)
    assert asked == [SLICE] * 100
    assert abs(sum(asked) - DEFER) < 1e-9  # 0.5 s with AckFirst's 50 ms bound


def test_it_goes_as_soon_as_someone_waits() -> None:
    asked: list[float] = []
    defer_for_acks(asked.append, lambda: len(asked) == 3)  # a write() queued during slice 3
    assert asked == [SLICE] * 3


def test_someone_already_waiting_means_no_wait_at_all() -> None:
    asked: list[float] = []
    defer_for_acks(asked.append, lambda: True)
    assert asked == []
