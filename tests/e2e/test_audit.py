"""The audit log end to end: commands, buttons and triage answers through signed requests land
in the database with who, what, where and the outcome; admins read them with `/ecr audit` and
`ecrbot audit`; the database refuses to rewrite them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from tests.e2e.harness import ADMIN, ALICE, MALLORY, ROOT, wait_until
from tests.e2e.world import World


def test_requests_refusals_and_triage_answers_are_audited_and_append_only(world: World) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    world.slash(f"diagnose {world.app}", user=MALLORY)  # refused
    world.slash("help", user=ALICE)
    sender.block_action("ecr_cancel", "999", user_id=ALICE)  # no such job
    ts = world.slack.add_message("C0PLATFORM", "Error: no basic auth credentials")
    event = {"type": "message", "channel": "C0PLATFORM", "user": ALICE, "text": "x", "ts": ts}
    sender.event({**event, "text": "Error: no basic auth credentials"})

    def shown() -> str | None:
        answer = world.slash("audit --since 1h", user=ADMIN).json()
        text = json.dumps(answer.get("blocks"))
        return text if "triage_answer" in text else None

    text = wait_until(shown, timeout=20)
    assert "diagnose" in text and "refused" in text and "You may not diagnose" in text
    assert "cancel" in text and "There is no job 999" in text
    assert "U0MALLORY" in text and "C0PLATFORM" in text

    refused = world.slash("audit", user=MALLORY).json()["text"]
    assert "audit log" in refused.lower() and "may" in refused.lower()

    env = world.bot_env()
    exported = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--format", "json", "--since", "1h"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries = json.loads(exported.stdout)
    kinds = {(e["kind"], e["action"], e["outcome"]) for e in entries}
    assert ("command", "diagnose", "refused") in kinds
    assert ("triage", "triage_answer", "ok") in kinds
    assert ("button", "cancel", "usage") in kinds

    with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_log SET outcome = 'ok'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log")
