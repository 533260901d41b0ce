"""Locks end to end over signed HTTP: a lock refuses a push, unlock lets it through, `/ecr locks`
lists them, a stranger can't lift one, and each request is in the audit log."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from tests.e2e.harness import ADMIN, ALICE, MALLORY, wait_until
from tests.e2e.world import World, assert_succeeded


def answer(world: World, text: str, user: str = ALICE) -> str:
    response = world.slash(text, user=user)
    assert response.status_code == 200, response.text
    assert response.elapsed.total_seconds() < 3
    body = response.json()
    return str(body.get("text", "")) + str(body.get("blocks", ""))


def test_a_lock_refuses_a_push_and_unlock_lets_it_through(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]

    locked = answer(world, f'lock {world.app} "incident 42: registry migration"')
    assert ":lock:" in locked and "incident 42" in locked

    refused = answer(world, f"push {world.app} {sha[:7]}")
    assert "are locked" in refused and "incident 42" in refused and ALICE in refused
    assert world.jobs() == []  # nothing queued, nothing built

    listed = answer(world, "locks", user=MALLORY)  # everyone may read the locks
    assert world.app in listed and "incident 42" in listed
    assert "may not unlock" in answer(world, f"unlock {world.app}", user=MALLORY)

    assert ":unlock:" in answer(world, f"unlock {world.app}", user=ADMIN)  # admins always may
    assert "No locks" in answer(world, "locks")
    job = world.push(sha)
    assert_succeeded(world.wait_finished(job))

    def audited() -> list[tuple[str, str, str | None]] | None:
        with closing(sqlite3.connect(world.tmp / "ecrbot.db")) as db:
            rows = db.execute(
                "SELECT action, outcome, app FROM audit_log WHERE action IN "
                "('lock', 'unlock', 'locks', 'push') ORDER BY id"
            ).fetchall()
        return rows if len(rows) >= 6 else None

    rows = wait_until(audited, timeout=10)
    assert rows[:6] == [
        ("lock", "ok", world.app),
        ("push", "refused", world.app),
        ("locks", "ok", None),
        ("unlock", "refused", world.app),
        ("unlock", "ok", world.app),
        ("locks", "ok", None),
    ]
