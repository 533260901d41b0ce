"""Approvals in the database, on SQLite and PostgreSQL: kept across restarts (a new store on the
same database), seen by every process, and decided exactly once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.approval_store import SqlApprovalStore
from bot.adapters.store import SqlJobStore
from bot.domain.approvals import Approval, ApprovalState
from tests.databases import database

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_approval_survives_a_restart_and_is_decided_once(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        jobs = SqlJobStore(url)
        store = SqlApprovalStore(jobs.engine, writer=jobs.writer)
        asked = Approval(
            "a1", "my-app", "1.0.0", "prod", DIGEST, ("1.0.0",), "U0ALICE", "C0PLATFORM",
            AT, AT + timedelta(minutes=30),
        )  # fmt: skip
        store.add(asked)
        store.set_thread("a1", "C0PLATFORM", "1790000000.000100")

        again = SqlApprovalStore(SqlJobStore(url).engine)  # a replica, or after a restart
        found = again.get("a1")
        assert found is not None
        assert found.digest == DIGEST and found.expires_at == AT + timedelta(minutes=30)
        assert found.thread_ts == "1790000000.000100" and found.state is ApprovalState.PENDING
        assert again.get("nope") is None

        # Two approvers at once (or a double click): one decision wins.
        assert store.settle("a1", ApprovalState.APPROVED, "U0BOB", AT)
        assert not again.settle("a1", ApprovalState.REJECTED, "U0CAROL", AT)
        decided = again.get("a1")
        assert decided is not None
        assert decided.state is ApprovalState.APPROVED and decided.decided_by == "U0BOB"
        assert decided.gate is None  # no failing scan gate

        # A failing scan gate's findings (or none: not scanned) are kept for the admin override.
        for key, gate in (("a2", ("CVE-1", "CVE-2")), ("a3", ())):
            store.add(dataclasses.replace(asked, id=key, gate=gate))
            kept = again.get(key)
            assert kept is not None and kept.gate == gate


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_pending_and_due_list_open_requests_oldest_first(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        jobs = SqlJobStore(url)
        store = SqlApprovalStore(jobs.engine, writer=jobs.writer)
        first = Approval(
            "p1", "my-app", "1.0.0", "prod", DIGEST, ("1.0.0",), "U0ALICE", "C0PLATFORM",
            AT, AT + timedelta(minutes=30),
        )  # fmt: skip
        second = dataclasses.replace(first, id="p2", created_at=AT + timedelta(minutes=1))
        short = dataclasses.replace(first, id="p3", expires_at=AT + timedelta(minutes=5))
        decided = dataclasses.replace(first, id="p4")
        for approval in (second, first, short, decided):
            store.add(approval)
        store.settle("p4", ApprovalState.REJECTED, "U0BOB", AT)
        assert [a.id for a in store.pending(AT + timedelta(minutes=2))] == ["p1", "p3", "p2"]
        assert [a.id for a in store.pending(AT + timedelta(minutes=10))] == ["p1", "p2"]
        assert [a.id for a in store.pending(AT + timedelta(minutes=10), limit=1)] == ["p1"]
        assert store.pending(AT + timedelta(hours=1)) == []
        # Due: pending and past their TTL (the decided p4 never is).
        assert [a.id for a in store.due(AT + timedelta(minutes=10))] == ["p3"]
        assert [a.id for a in store.due(AT + timedelta(hours=1))] == ["p1", "p3", "p2"]
