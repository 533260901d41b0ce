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
import requests

from tests.e2e.harness import ADMIN, ALICE, MALLORY, ROOT, wait_until
from tests.e2e.world import World, job_id
from tests.standins.slack_client import view_submission_payload


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


def export(world: World) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--format", "json", "--since", "1h"],
        cwd=ROOT,
        env=world.bot_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries: list[dict[str, object]] = json.loads(done.stdout)
    return entries


def test_entries_name_the_app_and_job_and_say_how_each_request_really_ended(
    world: World,
) -> None:
    """Issue #18: the app comes from the parsed command or the job row (not word positions), a
    resubmit is a duplicate of its job, the channel rule is a refusal, and a modal that crashes
    is an error, not `ok`."""
    world.start_bot()
    sender = world.sender
    assert sender is not None
    app, sha = world.app, world.sample.shas[0]
    world.slash(f"diagnose --branch main {app}", user=MALLORY)  # refused, about the app
    world.slash(f"push {app} {sha[:7]}", channel_id="C0RANDOM")  # the channel rule
    pushed = world.slash(f"push {app} {sha[:7]}", trigger_id="T0SAME")
    again = world.slash(f"push {app} {sha[:7]}", trigger_id="T0SAME")  # Slack's retry
    job = job_id(pushed)
    assert job_id(again) == job
    sender.block_action("ecr_cancel", str(job), user_id=ALICE)
    sender.block_action("ecr_retry", str(job), user_id=MALLORY)  # refused, about the app
    # A push form whose state is not what Slack sends: the listener crashes after ack.
    broken = {"app": ["not", "a", "block"]}
    sender.interaction(view_submission_payload("ecr_push_modal", broken))

    def settled() -> list[dict[str, object]] | None:
        entries = export(world)
        return entries if any(e["kind"] == "modal" for e in entries) else None

    entries = wait_until(settled, timeout=30)
    seen = {(e["kind"], e["action"], e["outcome"], e["app"], e["job"]) for e in entries}
    assert ("command", "diagnose", "refused", app, None) in seen
    refused_here = [e for e in entries if e["channel"] == "C0RANDOM"]
    assert [(e["outcome"], e["app"]) for e in refused_here] == [("refused", app)]
    assert ("command", "push", "ok", app, job) in seen
    duplicates = [e for e in entries if e["outcome"] == "duplicate"]
    assert [(e["action"], e["job"], e["reason"]) for e in duplicates] == [
        ("push", job, f"duplicate of job {job}")
    ]
    assert ("button", "cancel", "ok", app, job) in seen
    assert ("button", "retry", "refused", app, job) in seen
    (modal,) = [e for e in entries if e["kind"] == "modal"]
    assert modal["outcome"] == "error" and str(modal["reason"]).startswith("error id ")

    # `/ecr audit <app>` finds every entry about the app, whatever the words' order.
    shown = json.dumps(world.slash(f"audit {app} --since 1h", user=ADMIN).json()["blocks"])
    for words in ("command/diagnose", "button/cancel", "button/retry", "duplicate"):
        assert words in shown


def test_a_log_rewritten_while_the_bot_was_down_is_named_at_start(world: World) -> None:
    """Issue #18: the chain is verified when the bot starts; /readyz says what broke, the log
    says it loudly, and `ecrbot audit verify` exits 1 naming the row."""
    bot = world.start_bot()
    for _ in range(3):
        world.slash("help", user=ALICE)
    wait_until(lambda: requests.get(f"{bot.ops_url}/readyz", timeout=5).json()["audit_log"] == "ok")
    wait_until(lambda: len(export(world)) >= 3, timeout=20)
    bot.stop()
    with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:  # the owner, past the triggers
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET user = 'U0SOMEONE' WHERE id = 2")
        db.commit()

    bot.start()
    ready = wait_until(
        lambda: (
            (body := requests.get(f"{bot.ops_url}/readyz", timeout=5).json())["audit_log"]
            != "checking"
            and body
        ),
        timeout=20,
    )
    assert "audit_log_no_update is missing" in ready["audit_log"]
    assert "broken at id 2" in ready["audit_log"]
    assert "AUDIT LOG TAMPERED WITH" in bot.log()
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"],
        cwd=ROOT,
        env=world.bot_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 1 and "broken at id 2" in verified.stderr
