"""Replay protection and rate limits hold across replicas: two guards and two limiters on one
PostgreSQL database act as one (issue #18)."""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.request_marks import SqlRequestMarks
from bot.adapters.store import SqlJobStore
from bot.domain.access import Action, Limit, RateLimiter
from bot.domain.errors import RateLimited
from bot.runtime.request_guard import RequestGuard
from tests.databases import database

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[tuple[SqlRequestMarks, SqlRequestMarks]]:
    with database("postgresql", tmp_path) as url:
        # Two replicas: each its own engine (its own pool), one database.
        yield SqlRequestMarks(SqlJobStore(url).engine), SqlRequestMarks(SqlJobStore(url).engine)


def signed(body: bytes) -> dict[str, Any]:
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": signature,
    }


def test_a_request_replayed_to_another_replica_is_refused(
    marks: tuple[SqlRequestMarks, SqlRequestMarks],
) -> None:
    a, b = RequestGuard(SECRET, marks=marks[0]), RequestGuard(SECRET, marks=marks[1])
    request = signed(b"command=%2Fecr&text=diagnose+my-app")
    replay = dict(request, **{"wsgi.input": io.BytesIO(request["wsgi.input"].getvalue())})
    assert a.refusal(request) is None
    assert b.refusal(replay) == ("401 Unauthorized", "replayed")
    assert b.refusal(signed(b"command=%2Fecr&text=jobs")) is None  # another request passes


def test_one_users_rate_limit_counts_across_replicas(
    marks: tuple[SqlRequestMarks, SqlRequestMarks],
) -> None:
    limits = {Action.DIAGNOSE: Limit(5, 60.0)}
    replicas = [RateLimiter(limits, windows=marks[0]), RateLimiter(limits, windows=marks[1])]
    for n in range(5):
        replicas[n % 2].take("U0ALICE", Action.DIAGNOSE)  # 5 between the two replicas
    for replica in replicas:
        with pytest.raises(RateLimited) as refused:
            replica.take("U0ALICE", Action.DIAGNOSE)
        assert "Try again in 1 min" in refused.value.next_step  # the window's oldest use
    replicas[1].take("U0BOB", Action.DIAGNOSE)  # per user


def test_a_slot_frees_when_its_window_passes_on_the_databases_clock(
    marks: tuple[SqlRequestMarks, SqlRequestMarks],
) -> None:
    assert marks[0].take("diagnose:U0ALICE", 1, 0.2) is None
    wait = marks[1].take("diagnose:U0ALICE", 1, 0.2)
    assert wait is not None and 0 < wait <= 0.2
    deadline = time.monotonic() + 5
    while marks[1].take("diagnose:U0ALICE", 1, 0.2) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
