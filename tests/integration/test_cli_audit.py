"""`ecrbot audit` against a real database: JSON and CSV, filters, and cells a spreadsheet would
run as formulas."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.audit_store import SqlAuditLog
from bot.adapters.store import SqlJobStore
from bot.config import Settings
from bot.domain.audit import AuditEntry
from bot.entrypoints.cli import main
from tests.databases import database

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE = '=HYPERLINK("https://evil.example","click"), "quoted"'


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def seed(url: str) -> None:
    """Three requests as the bot records them: a push, a refusal three days ago, a triage answer."""
    store = SqlJobStore(url)
    log = SqlAuditLog(store.engine, writer=store.writer)
    log.record(
        AuditEntry(
            "U0BOB",
            "button",
            "retry",
            "refused",
            app="my-app",
            channel="C0PLATFORM",
            detail="-2+3",
            reason="You may not push `my-app`.",
            at=NOW - timedelta(days=3),
        )
    )
    log.record(
        AuditEntry(
            "U0ALICE",
            "command",
            "push",
            "ok",
            app="my-app",
            channel="C0PLATFORM",
            detail=HOSTILE,
            at=NOW - timedelta(hours=1),
        )
    )
    log.record(AuditEntry("ecrbot", "triage", "triage_answer", "ok", channel="C0SUPPORT", at=NOW))
    log.stop(10)
    store.engine.dispose()


def ecrbot_audit(url: str, *argv: str) -> int:
    return main(["audit", *argv], settings=lambda: Settings(database_url=url))


def test_json_lists_every_field_newest_first(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(url)
    assert ecrbot_audit(url) == 0  # json is the default
    triage, push, retry = json.loads(capsys.readouterr().out)
    assert list(push) == [
        "at",
        "user",
        "kind",
        "action",
        "app",
        "job",
        "channel",
        "outcome",
        "reason",
        "detail",
    ]
    assert push["detail"] == HOSTILE  # JSON is data: kept as it was
    assert (push["user"], push["kind"], push["action"], push["outcome"]) == (
        "U0ALICE",
        "command",
        "push",
        "ok",
    )
    assert datetime.fromisoformat(push["at"]) == NOW - timedelta(hours=1)
    assert push["at"].endswith("+00:00")
    assert (retry["outcome"], retry["reason"]) == ("refused", "You may not push `my-app`.")
    assert (triage["user"], triage["app"], triage["reason"]) == ("ecrbot", None, None)


def test_filters_are_the_slash_commands(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(url)

    def actions(*argv: str) -> list[str]:
        assert ecrbot_audit(url, "--format", "json", *argv) == 0
        return [e["action"] for e in json.loads(capsys.readouterr().out)]

    assert actions("--app", "my-app") == ["push", "retry"]
    assert actions("--user", "<@U0BOB|bob>") == ["retry"]
    assert actions("--user", "U0ALICE", "--app", "my-app") == ["push"]
    assert actions("--since", "2d") == ["triage_answer", "push"]
    assert actions("--limit", "1") == ["triage_answer"]
    assert actions("--app", "nothing-here") == []


def test_csv_is_safe_to_open_in_a_spreadsheet(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(url)
    assert ecrbot_audit(url, "--format", "csv") == 0
    out = capsys.readouterr().out
    header, triage, push, retry = list(csv.reader(io.StringIO(out)))
    assert header == [
        "at",
        "user",
        "kind",
        "action",
        "app",
        "job",
        "channel",
        "outcome",
        "reason",
        "detail",
    ]
    fields = dict(zip(header, push, strict=True))
    assert fields["detail"] == "'" + HOSTILE  # a formula no more; commas and quotes kept
    assert dict(zip(header, retry, strict=True))["detail"] == "'-2+3"
    assert dict(zip(header, triage, strict=True))["app"] == ""  # null is an empty cell
    for row in (triage, push, retry):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_bad_filters_exit_2_and_say_why(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(url)
    for argv, said in (
        (["--since", "0d"], "not between 1 minute and 366 days"),
        (["--since", "forever"], "is not a duration"),
        (["--user", "alice"], "is not a Slack user"),
        (["--app", "My App"], "is not an app name"),
    ):
        assert ecrbot_audit(url, *argv) == 2, argv
        assert said in capsys.readouterr().err
    assert ecrbot_audit(url, "--limit", "0") == 2
    assert "--limit: takes a number from 1 to 100000" in capsys.readouterr().err
    assert ecrbot_audit(url, "--format", "xml") == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_a_sqlite_file_that_is_not_there_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert ecrbot_audit(f"sqlite:///{missing}") == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.exists()
