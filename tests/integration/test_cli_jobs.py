"""`ecrbot jobs` against a real job store: SQLite and, with the test services, PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.fleet import SqlFleet
from bot.adapters.store import SqlJobStore
from bot.config import Settings
from bot.domain.models import Job, JobState
from bot.entrypoints.cli import main
from tests.databases import database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def seed(url: str) -> list[Job]:
    """A finished push, one a worker of the fleet is running, and one still queued."""
    store = SqlJobStore(url)
    fields = {"sha": "1a2b3c4", "requested_by": "U0ALICE", "channel": "C0PLATFORM"}
    done, _ = store.create("k1", {**fields, "app": "my-app", "version": "1.4.0"})
    store.transition(done.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    store.finish(done.id, JobState.SUCCEEDED)
    store.create("k2", {**fields, "app": "other", "version": None})
    SqlFleet(store.engine).claim_next("other", "builder-1", limit=2)
    store.create("k3", {**fields, "app": "my-app", "version": "1.5.0"})
    return store.recent(10)


def ecrbot_jobs(url: str, *argv: str) -> int:
    return main(["jobs", *argv], settings=lambda: Settings(database_url=url))


def test_json_lists_the_newest_jobs_with_their_worker(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed(url)

    assert ecrbot_jobs(url, "--format", "json") == 0

    listed = json.loads(capsys.readouterr().out)
    assert [job["id"] for job in listed] == [job.id for job in seeded]  # newest first
    queued, running, done = listed
    assert set(done) == {
        "id",
        "app",
        "sha",
        "version",
        "state",
        "requested_by",
        "worker",
        "created_at",
        "started_at",
        "finished_at",
    }
    assert (done["app"], done["sha"], done["version"], done["state"]) == (
        "my-app",
        "1a2b3c4",
        "1.4.0",
        "succeeded",
    )
    assert done["requested_by"] == "U0ALICE" and done["worker"] is None
    assert done["started_at"] <= done["finished_at"]
    assert done["finished_at"].endswith("+00:00")
    assert (running["state"], running["worker"], running["finished_at"]) == (
        "running",
        "builder-1",
        None,
    )
    assert running["version"] is None and running["started_at"] is not None
    assert (queued["state"], queued["started_at"], queued["worker"]) == ("queued", None, None)


def test_limit_keeps_the_newest(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(url)
    assert ecrbot_jobs(url, "--limit", "2", "--format=json") == 0
    assert [job["id"] for job in json.loads(capsys.readouterr().out)] == [
        job.id for job in seeded[:2]
    ]


def test_text_is_an_aligned_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(url)
    assert ecrbot_jobs(url) == 0
    header, *rows = capsys.readouterr().out.rstrip("\n").split("\n")
    assert header.split() == [
        "ID",
        "APP",
        "SHA",
        "VERSION",
        "STATE",
        "REQUESTED",
        "BY",
        "WORKER",
        "CREATED",
        "STARTED",
        "FINISHED",
    ]
    assert len(rows) == 3
    # Each column starts where its header does, on every line.
    starts = [match.start() for match in re.finditer(r"(?<=  )\S", header)]
    for row in rows:
        assert all(row[at - 2 : at] == "  " and row[at] != " " for at in starts), row
    assert "builder-1" in rows[1] and rows[1].split()[4] == "running"
    assert rows[0].split()[-2:] == ["-", "-"]  # queued: neither started nor finished
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[2])


def test_an_empty_database_has_no_jobs(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    SqlJobStore(url)  # the bot created it and took no job yet
    assert ecrbot_jobs(url) == 0
    assert capsys.readouterr().out == "No jobs yet.\n"
    assert ecrbot_jobs(url, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_sqlite_file_that_is_not_there_is_an_error_not_a_new_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert ecrbot_jobs(f"sqlite:///{missing}") == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.exists()
