"""`/ecr report` end to end: the report message with its charts, every item in table messages in
its thread, the PNG and files where the app may upload, the preview, the schedule."""

from __future__ import annotations

from csv import DictReader
from io import StringIO
from typing import Any

from tests.e2e.harness import ADMIN, REGION, ROOT, account_session, unique, wait_until
from tests.e2e.world import World
from tests.report_seed import seed_registry


def test_report_posts_the_message_and_uploads_chart_and_detail(world: World) -> None:
    seed_registry(world.ecr)
    world.start_bot()

    refused = world.slash("report")
    ack = world.slash("report", user=ADMIN)

    assert "You may not post or preview the registry report" in refused.json()["text"]
    assert "Building the registry report" in ack.json()["text"]
    complete = wait_until(lambda: world.slack.calls("files.completeUploadExternal"), timeout=90)
    parent = next(m for m in world.slack.messages() if "thread_ts" not in m)
    assert "blocks" in parent and len(parent["blocks"]) <= 50
    files = complete[0].params["files"]
    names = {f.get("title") for f in files}
    assert any("CSV" in str(n) for n in names)
    assert complete[0].params.get("thread_ts") == parent["ts"]
    uploads = world.slack.uploads()
    assert any(data.startswith(b"\x89PNG") for data in uploads.values())
    charts = [b for b in parent["blocks"] if b["type"] == "data_visualization"]
    assert [c["chart"]["type"] for c in charts] == ["bar", "line"]
    tables = in_thread(world, parent["ts"], "table")
    assert tables and all(len(t["rows"]) <= 100 for t in tables)


def test_the_report_covers_another_registry_through_its_role(world: World) -> None:
    # Issue #16: a repository in the second account, read through prod's role, is in the
    # message under prod's heading and in the thread's tables as `prod:<name>`.
    second = "210987654321"
    name = unique("e2e-prod")
    ecr = account_session(second).client("ecr", endpoint_url=world.env["AWS_ENDPOINT_URL"])
    ecr.create_repository(repositoryName=name, imageTagMutability="MUTABLE")
    world.registries = {
        "prod": {
            "account_id": second,
            "region": REGION,
            "role": f"arn:aws:iam::{second}:role/ecrbot-report",
        }
    }
    world.start_bot()

    world.slash("report", user=ADMIN)

    wait_until(lambda: world.slack.calls("files.completeUploadExternal"), timeout=90)
    parent = next(m for m in world.slack.messages() if "thread_ts" not in m)
    texts = [b["text"]["text"] for b in parent["blocks"] if b["type"] == "section"]
    assert "and 1 more registry (prod)" in texts[0]
    (prod,) = [t for t in texts if t.startswith(f"*Registry prod · {second} {REGION}*")]
    assert "Could not be read" not in prod
    # Every item is in the CSV (the tables stop at 495 rows; the shared moto holds many).
    (csv,) = [data for data in world.slack.uploads().values() if data.startswith(b"section,")]
    rows = [row for row in DictReader(StringIO(csv.decode())) if row["repository"] == name]
    assert rows and all(row["registry"] == "prod" for row in rows)


def in_thread(world: World, ts: str, kind: str) -> list[dict[str, Any]]:
    """The blocks of one kind in the bot's replies under `ts`."""
    return [
        block
        for m in world.slack.messages()
        if m.get("thread_ts") == ts
        for block in m.get("blocks") or []
        if block["type"] == kind
    ]


def test_without_files_write_the_report_is_whole_in_blocks(world: World) -> None:
    seed_registry(world.ecr)
    world.slack.scopes = tuple(s for s in world.slack.scopes if s != "files:write")
    world.start_bot()

    world.slash("report", user=ADMIN)

    note = wait_until(
        lambda: [m for m in world.slack.messages() if "files:write" in str(m.get("text"))],
        timeout=90,
    )[0]
    parent = next(m for m in world.slack.messages() if "thread_ts" not in m)
    assert note["thread_ts"] == parent["ts"]
    assert len([b for b in parent["blocks"] if b["type"] == "data_visualization"]) == 2
    rows = sum(len(t["rows"]) - 1 for t in in_thread(world, parent["ts"], "table"))
    assert rows > 0
    assert world.slack.calls("response_url") == []  # nothing refused: nothing to tell
    assert world.slack.uploads() == {}


def test_dry_run_answers_only_the_requester(world: World) -> None:
    world.start_bot()
    world.slash("report --dry-run", user=ADMIN)
    answer = wait_until(lambda: world.slack.calls("response_url"), timeout=90)[0]
    assert answer.params.get("response_type") == "ephemeral" and answer.params.get("blocks")
    assert world.slack.count("chat.postMessage") == 0


def test_schedule_says_when_the_next_report_is_due(world: World) -> None:
    world.start_bot()
    text = world.slash("report schedule").json()["text"]
    assert "The next registry report is due Monday" in text and "09:00" in text


def test_cli_report_prints_json(world: World) -> None:
    import json
    import subprocess
    import sys

    seed_registry(world.ecr)
    env = world.bot_env()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--format", "json"],
        env={**env, "PATH": env["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["figures"]["repositories"] >= 2
    assert {s["id"] for s in report["sections"]} >= {"compliance", "vulnerabilities", "hygiene"}
