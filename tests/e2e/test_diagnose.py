"""`/ecr diagnose` end to end: signed slash command in, a checklist thread out."""

from __future__ import annotations

from typing import Any

from tests.diagnose_seed import MotoSession, Platform
from tests.e2e.harness import ADMIN, MALLORY, wait_until
from tests.e2e.world import World


def diagnose_thread(world: World, subject: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    def found() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        messages = world.slack.messages()
        parents = [m for m in messages if "thread_ts" not in m and subject in m["text"]]
        if not parents:
            return None
        replies = [m for m in messages if m.get("thread_ts") == parents[0]["ts"]]
        return (parents[0], replies) if replies else None

    return wait_until(found, timeout=60)  # type: ignore[no-any-return]


def test_diagnose_an_app_posts_a_checklist_with_fixes(world: World) -> None:
    platform = Platform(MotoSession(world.env["AWS_ENDPOINT_URL"]), world.tmp / "platform")
    app = platform.app("diag", permissions="    permissions:\n      contents: read")
    world.apps[app.name] = app.catalog
    world.start_bot()

    refused = world.slash(f"diagnose {app.name}", user=MALLORY)
    ack = world.slash(f"diagnose {app.name}", user=ADMIN)

    assert "You may not diagnose" in refused.json()["text"]
    assert "Diagnosing" in ack.json()["text"] and ack.elapsed.total_seconds() < 3
    parent, replies = diagnose_thread(world, app.name)
    assert parent["text"].startswith("❌") and "workflow.id_token" in parent["text"]
    checklist = str([r.get("blocks") for r in replies])
    assert "`workflow.id_token`" in checklist and "id-token: write" in checklist
    assert "`trust.subject`" in checklist and "`privilege.push`" in checklist


def test_diagnose_without_an_app_checks_the_platform(world: World) -> None:
    world.start_bot()
    assert "You may not diagnose the ecrbot platform" in world.slash("diagnose").json()["text"]
    world.slash("diagnose", user=ADMIN)
    parent, replies = diagnose_thread(world, "ecrbot platform")
    checklist = str([r.get("blocks") for r in replies])
    for check in (
        "platform.identity",
        "platform.docker",
        "platform.ecr_token",
        "platform.registry_login",
    ):
        assert f"`{check}`" in checklist
    assert parent["text"].startswith("✅"), checklist


def test_diagnose_unknown_app_is_refused_at_once(world: World) -> None:
    world.start_bot()
    ack = world.slash("diagnose nope")
    assert "no app called `nope`" in ack.json()["text"]
    # An outsider is not told which apps exist.
    outsider = world.slash("diagnose nope", user=MALLORY).json()["text"]
    assert world.app not in outsider


def test_run_diagnose_button_after_a_push(world: World) -> None:
    world.create_repository()
    world.start_bot()
    world.wait_finished(world.push(world.sample.shas[0]))
    assert world.sender is not None
    answer = world.sender.block_action("ecr_run_diagnose", world.app)
    assert answer.status_code == 200
    diagnose_thread(world, f"Diagnose *{world.app}*")
