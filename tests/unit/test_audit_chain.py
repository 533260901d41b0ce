"""The audit log's hash chain: every way a row can be changed, removed or slipped in is named
at the first bad id; the canonical form is pinned (stored chains depend on it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.audit_chain import GENESIS, ChainVerifier, canonical, chain, link

AT = datetime(2026, 6, 2, 9, 30, 0, 123456, tzinfo=UTC)


def rows(count: int) -> list[dict[str, Any]]:
    made = [
        {
            "at": AT + timedelta(seconds=n),
            "user": "U0ALICE",
            "kind": "command",
            "action": "push",
            "outcome": "ok",
            "app": "my-app",
            "channel": "C0PLATFORM",
            "detail": f"/ecr push my-app {n:07x}",
            "reason": None,
            "job": n,
        }
        for n in range(count)
    ]
    return chain(None, made)


def verdict(chained: list[dict[str, Any]]) -> tuple[int | None, str | None]:
    verifier = ChainVerifier()
    verifier.feed(chained)
    report = verifier.report()
    return report.broken_at, report.problem


def test_an_untouched_chain_is_intact_and_names_its_head() -> None:
    chained = rows(5)
    assert [row["id"] for row in chained] == [1, 2, 3, 4, 5]
    assert chained[0]["prev_hash"] == GENESIS
    verifier = ChainVerifier()
    assert verifier.feed(chained[:2]) and verifier.feed(chained[2:])  # in pages
    report = verifier.report()
    assert report.intact and (report.checked, report.head_id) == (5, 5)
    assert report.head_hash == chained[-1]["hash"]
    assert "head id 5" in report.summary()


def test_appending_continues_from_the_head() -> None:
    first = rows(3)
    more = chain((3, first[-1]["hash"]), [{k: v for k, v in first[0].items() if k != "id"}])
    assert more[0]["id"] == 4 and more[0]["prev_hash"] == first[-1]["hash"]
    assert verdict(first + more) == (None, None)


def test_a_changed_field_is_named_at_its_row() -> None:
    for field, value in [("outcome", "refused"), ("user", "U0MALLORY"), ("app", None)]:
        chained = rows(4)
        chained[2] = {**chained[2], field: value}
        broken_at, problem = verdict(chained)
        assert broken_at == 3 and "contents do not match" in str(problem), field


def test_a_changed_time_is_named() -> None:
    chained = rows(3)
    chained[1] = {**chained[1], "at": chained[1]["at"] + timedelta(microseconds=1)}
    assert verdict(chained)[0] == 2


def test_a_rewritten_row_with_its_hash_recomputed_is_named_not_the_next() -> None:
    chained = rows(4)
    forged = {**chained[1], "outcome": "ok", "user": "U0SOMEONE"}
    forged["hash"] = link(forged["prev_hash"], forged)
    chained[1] = forged
    broken_at, problem = verdict(chained)
    assert broken_at == 2 and "hash recomputed" in str(problem)


def test_a_removed_row_breaks_the_ids() -> None:
    chained = rows(5)
    del chained[2]
    broken_at, problem = verdict(chained)
    assert broken_at == 4 and "expected id 3" in str(problem)


def test_a_removed_row_with_everything_renumbered_is_still_named() -> None:
    chained = rows(5)
    del chained[2]
    renumbered = [{**row, "id": n} for n, row in enumerate(chained, start=1)]
    broken_at, _ = verdict(renumbered)
    assert broken_at == 3  # the row after the gap: its prev_hash is a row no longer there


def test_a_row_without_a_hash_is_named() -> None:
    chained = rows(3)
    chained.append({**chained[0], "id": 4, "hash": None, "prev_hash": None})
    broken_at, problem = verdict(chained)
    assert broken_at == 4 and "no hash" in str(problem)


def test_the_canonical_form_is_pinned() -> None:
    row = rows(1)[0]
    assert canonical(row) == (
        b'["v1",1,"2026-06-02T09:30:00.123456Z","U0ALICE","command","push","my-app",'
        b'"C0PLATFORM","/ecr push my-app 0000000","ok",null,0]'
    )
    naive = {**row, "at": AT.replace(tzinfo=None)}  # SQLite reads datetimes back naive
    assert canonical(naive) == canonical(row)
    assert row["hash"] == link(GENESIS, row)
