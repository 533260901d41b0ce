"""`/ecr push` end to end: signed HTTP in, Slack calls and registry contents out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import scan_databases
from tests.e2e.world import World, assert_succeeded, text_of
from tests.standins.slack_api import SlackStandIn


@pytest.fixture(params=["local", "celery"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, services: dict[str, str], slack: SlackStandIn
) -> Iterator[World]:
    """Every push test on both worker backends: the embedded pool, and Celery workers on
    Redis with PostgreSQL (the same tests, unchanged)."""
    world = World(tmp_path, services, slack, backend=request.param)
    try:
        yield world
    finally:
        world.stop()
        scan_databases(world)


def test_push_with_version_lands_both_tags_with_labels_and_reports_digest(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]

    job = world.push(sha, "1.4.0")
    parent = world.wait_finished(job)

    tags = world.registry_tags()
    assert set(tags) == {sha, "1.4.0"}
    assert tags[sha] == tags["1.4.0"]
    shown = text_of(parent)
    assert "✅" in shown and tags[sha] in shown
    assert f"{world.env['ECR_HOST']}/{world.app}:{sha}" in shown
    assert f"{world.env['ECR_HOST']}/{world.app}:1.4.0" in shown
    labels = world.image_labels(sha)
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.version"] == "1.4.0"
    assert labels["org.opencontainers.image.source"] == str(world.sample.path)
    assert "Run diagnose" in shown


def test_push_without_version_tags_only_the_full_sha(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]

    world.wait_finished(world.push(sha))

    assert set(world.registry_tags()) == {sha}


def test_repeat_push_of_same_sha_neither_builds_nor_pushes(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]
    world.wait_finished(world.push(sha, "1.0.0"))
    digest = world.registry_tags()[sha]

    parent = world.wait_finished(world.push(sha, "1.0.0"))

    shown = text_of(parent)
    assert "already in ECR (no build, no push)" in shown
    assert digest in shown
    assert world.registry_tags() == {sha: digest, "1.0.0": digest}


def test_repeat_push_with_new_version_only_adds_the_tag(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]
    world.wait_finished(world.push(sha, "1.0.0"))

    parent = world.wait_finished(world.push(sha, "1.0.1"))

    tags = world.registry_tags()
    assert tags["1.0.1"] == tags[sha] == tags["1.0.0"]
    assert "no build" in text_of(parent)


def test_unknown_app_is_refused_and_nothing_runs(world: World) -> None:
    world.start_bot()
    response = world.slash("push no-such-app 1a2b3c4")
    assert response.status_code == 200
    assert "no app called `no-such-app`" in response.json()["text"]
    assert world.slack.count("chat.postMessage") == 0


def test_malformed_sha_gets_a_usage_message(world: World) -> None:
    world.start_bot()
    response = world.slash(f"push {world.app} not-a-sha")
    assert "is not a git SHA" in response.json()["text"]
    assert world.slack.count("chat.postMessage") == 0


def test_unknown_sha_fails_at_checkout_in_the_thread(world: World) -> None:
    world.create_repository()
    world.start_bot()
    parent = world.wait_finished(world.push("abcdef1234567"))
    shown = text_of(parent)
    assert "Failed at *checkout*" in shown
    assert "is not in" in shown and "Retry" in shown


def test_unauthorized_user_is_refused_and_nothing_runs(world: World) -> None:
    from tests.e2e.harness import MALLORY

    world.create_repository()
    world.start_bot()
    response = world.slash(f"push {world.app} {world.sample.shas[0][:7]}", user=MALLORY)
    assert "You may not push" in response.json()["text"]
    assert world.slack.count("chat.postMessage") == 0


def test_admin_group_member_may_push_any_app(world: World) -> None:
    from tests.e2e.harness import ADMIN

    world.create_repository()
    world.start_bot()
    job = world.push(world.sample.shas[0], user=ADMIN)
    assert_succeeded(world.wait_finished(job))


def test_forged_and_stale_requests_get_401_and_nothing_runs(world: World) -> None:
    import time

    world.start_bot()
    assert world.sender is not None
    forged = world.sender.slash_command(f"push {world.app} 1a2b3c4", signature="v0=" + "0" * 64)
    stale = world.sender.slash_command(
        f"push {world.app} 1a2b3c4", timestamp=int(time.time()) - 6 * 60
    )
    assert forged.status_code == 401
    assert stale.status_code == 401
    assert world.slack.calls() == [] or world.slack.count("chat.postMessage") == 0


def test_slack_retry_of_the_same_request_starts_no_second_job(world: World) -> None:
    world.create_repository()
    world.start_bot()
    assert world.sender is not None
    text = f"push {world.app} {world.sample.shas[0][:7]}"
    first = world.sender.slash_command(text, trigger_id="42.1.retry")
    again = world.sender.slash_command(text, trigger_id="42.1.retry", retry_num=1)
    assert "job" in first.json()["text"]
    assert "Already queued as job" in again.json()["text"]
    world.wait_finished(int(first.json()["text"].split("job ")[1].split(":")[0]))
    assert len([m for m in world.slack.messages() if "thread_ts" not in m]) == 1


def test_help_and_unknown_subcommand(world: World) -> None:
    world.start_bot()
    help_text = str(world.slash("help").json())
    for example in ("/ecr push my-app 1a2b3c4 1.4.0", "/ecr jobs", "/ecr cancel 42"):
        assert example in help_text
    unknown = world.slash("deploy everything").json()
    assert "`deploy` is not an /ecr command" in unknown["text"]
    assert unknown["response_type"] == "ephemeral"


def test_jobs_lists_recent_jobs(world: World) -> None:
    world.create_repository()
    world.start_bot()
    world.wait_finished(world.push(world.sample.shas[0], "2.0.0"))
    listing = str(world.slash("jobs").json())
    assert world.app in listing and "succeeded" in listing and "2.0.0" in listing


def test_no_secret_reaches_the_log_or_slack(world: World) -> None:
    from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET

    world.create_repository()
    world.start_bot(ECRBOT_LOG_LEVEL="DEBUG")
    world.wait_finished(world.push(world.sample.shas[0], "9.9.9"))
    world.slash("push nope 1a2b3c4")
    assert world.bot is not None
    log = world.bot.log()
    slack_seen = str([c.params for c in world.slack.calls()])
    ecr_login = "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu"  # base64 of the ECR login
    for secret in (BOT_TOKEN, SIGNING_SECRET, "123456789012-auth-token", ecr_login):
        assert secret not in log
        assert secret not in slack_seen
