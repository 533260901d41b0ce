"""Slack's real rules, enforced by the stand-in: channels the bot may not post in, and scopes."""

from __future__ import annotations

from tests.e2e.harness import ADMIN, ALICE, wait_until
from tests.e2e.world import World, job_id
from tests.report_seed import seed_registry


def told(world: World, words: str) -> list[str]:
    """What the asker was told through response_url, containing `words`."""
    return [
        str(c.params.get("text"))
        for c in world.slack.calls("response_url")
        if words in str(c.params.get("text"))
    ]


def test_a_push_from_a_private_channel_the_bot_is_not_in_reaches_the_asker(
    world: World,
) -> None:
    world.create_repository()
    world.slack.add_channel("G0SECRET", private=True, member=False)
    world.catalog_slack = {"channels": ["G0SECRET"]}
    world.start_bot()

    ack = world.slash(f"push {world.app} {world.sample.shas[0][:7]}", channel_id="G0SECRET")
    job = job_id(ack)

    warning = wait_until(lambda: told(world, "I can't post in"), timeout=30)[0]
    assert "channel_not_found" in warning and "/invite @ecrbot" in warning
    assert f"Job {job} runs anyway" in warning
    outcome = wait_until(lambda: told(world, f"Job {job}: ✅"), timeout=120)[0]
    assert world.sample.shas[0] in outcome  # the image URI, told directly
    # Once refused, the thread is not tried again and again.
    refused = [c for c in world.slack.calls("chat.postMessage") if c.status == 200]
    assert all(not c.response.get("ok") for c in refused if c.params.get("channel") == "G0SECRET")
    assert len([c for c in refused if c.params.get("channel") == "G0SECRET"]) <= 2


def test_a_report_in_a_public_channel_joins_it_to_attach_its_files(world: World) -> None:
    seed_registry(world.ecr)
    world.slack.add_channel("C0OTHER", member=False)
    world.catalog_slack = {"channels": ["C0OTHER"]}
    world.start_bot()

    world.slash("report", user=ADMIN, channel_id="C0OTHER")

    complete = wait_until(
        lambda: [c for c in world.slack.calls("files.completeUploadExternal") if c.response["ok"]],
        timeout=120,
    )
    assert complete[0].params["channel_id"] == "C0OTHER"
    assert world.slack.calls("conversations.join")[0].response["ok"]


def test_a_missing_scope_is_told_to_the_asker_not_dropped(world: World) -> None:
    # (Without files:write the report is whole anyway: see test_report.py. Without chat:write
    # nothing of it can be posted, and the asker hears why.)
    seed_registry(world.ecr)
    world.slack.scopes = tuple(s for s in world.slack.scopes if s != "chat:write")
    world.start_bot()

    world.slash("report", user=ADMIN)

    warning = wait_until(lambda: told(world, "lacks a permission"), timeout=120)[0]
    assert "missing_scope" in warning and "manifest.yml" in warning
    assert world.slack.messages() == []


def test_a_dm_with_someone_else_is_refused_then_told(world: World) -> None:
    world.create_repository()
    world.slack.add_channel("D0OTHERS")  # a DM between two people: the bot can't see it
    world.catalog_slack = {"restrict_to_channels": False}
    world.start_bot()
    ack = world.slash(
        f"push {world.app} {world.sample.shas[0][:7]}", user=ALICE, channel_id="D0OTHERS"
    )
    job = job_id(ack)
    assert wait_until(lambda: told(world, f"Job {job} runs anyway"), timeout=30)
