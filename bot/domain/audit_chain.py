"""The audit log's hash chain: each row's hash covers the row and the hash of the row before it.

`hash = sha256(prev_hash || "\\n" || canonical(row))`, the first row's `prev_hash` being 64 zeros.
Ids are consecutive (the writer hands them out), so a row taken out, changed or slipped in
between others breaks the chain at the first row after it; `verify` names that row's id. The
chain proves the rows were not rewritten *after* a head the operator knows: whoever can rewrite
rows can also recompute every later hash, so the head (`ecrbot audit verify` prints it, the bot
logs it at start) is worth keeping outside the database. The canonical form can never change
without breaking every stored chain: it is versioned (`v1`) and written out field by field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
VERSION = "v1"
FIELDS: tuple[str, ...] = ("id", "at", "user", "kind", "action", "app", "channel", "detail")
FIELDS += ("outcome", "reason", "job")


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: its fields in a fixed order, as JSON (UTC microseconds)."""
    values: list[Any] = [VERSION]
    for name in FIELDS:
        value = row.get(name)
        values.append(_instant(value) if isinstance(value, datetime) else value)
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(prev_hash: str, row: Mapping[str, Any]) -> str:
    """The hash of `row` following a row whose hash is `prev_hash`."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(row)).hexdigest()


def chain(head: tuple[int, str] | None, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`rows` appended after `head` (its id and hash; None for an empty log): each with its id,
    `prev_hash` and `hash`."""
    next_id, prev = (head[0] + 1, head[1]) if head is not None else (1, GENESIS)
    chained = []
    for row in rows:
        linked = {**row, "id": next_id, "prev_hash": prev}
        linked["hash"] = prev = link(prev, linked)
        chained.append(linked)
        next_id += 1
    return chained


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: rows checked, the last good row, and the first bad one (if any)."""

    checked: int
    head_id: int | None
    head_hash: str | None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def summary(self) -> str:
        if not self.intact:
            return f"broken at id {self.broken_at}: {self.problem}"
        if self.head_id is None:
            return "intact (empty)"
        return f"intact: {self.checked} rows, head id {self.head_id} hash {self.head_hash}"


class ChainVerifier:
    """Walks rows in id order (fed in pages) and stops at the first one that breaks the chain."""

    def __init__(self) -> None:
        self.checked = 0
        self.last_id: int | None = None
        self.last_hash = GENESIS
        self.broken_at: int | None = None
        self.problem: str | None = None

    def feed(self, rows: Iterable[Mapping[Any, Any]]) -> bool:
        """Check the next rows; False once the chain is broken (feed no more)."""
        for row in rows:
            problem = self._problem(row)
            if problem is not None:
                self.broken_at, self.problem = problem
                return False
            self.checked += 1
            self.last_id, self.last_hash = int(row["id"]), str(row["hash"])
        return True

    def report(self) -> ChainReport:
        head_hash = self.last_hash if self.last_id is not None else None
        return ChainReport(self.checked, self.last_id, head_hash, self.broken_at, self.problem)

    def _problem(self, row: Mapping[Any, Any]) -> tuple[int, str] | None:
        """(the first bad id, what is wrong), or None for a row that follows the chain."""
        at = int(row["id"])
        expected_id = 1 if self.last_id is None else self.last_id + 1
        if at != expected_id:
            return at, f"expected id {expected_id} next: rows were removed or renumbered"
        if not row.get("hash") or not row.get("prev_hash"):
            return at, "the row has no hash: ecrbot's audit writer did not write it"
        if row["prev_hash"] != self.last_hash:
            if self.last_id is not None and link(row["prev_hash"], row) == row["hash"]:
                # This row was chained to another hash: the row before it changed, hash and all.
                return self.last_id, "it was rewritten and its hash recomputed"
            return at, "its prev_hash was changed"
        if link(self.last_hash, row) != row["hash"]:
            return at, "its contents do not match its hash: the row was changed"
        return None


def _instant(moment: datetime) -> str:
    # SQLite hands datetimes back naive; every datetime stored in the log is UTC.
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditIntegrity:
    """The append-only triggers as found (problems, if any) and the chain's report."""

    trigger_problems: tuple[str, ...]
    chain: ChainReport

    @property
    def intact(self) -> bool:
        return not self.trigger_problems and self.chain.intact

    def summary(self) -> str:
        parts = [f"chain {self.chain.summary()}"]
        if self.trigger_problems:
            parts.insert(0, "triggers: " + "; ".join(self.trigger_problems))
        return ", ".join(parts)
