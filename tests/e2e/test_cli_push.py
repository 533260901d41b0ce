"""`ecrbot push` in place of ecr-build-push.sh: same flags, builds the current directory."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.world import World


def ecrbot(
    world: World, *args: str, region_env: bool = True, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    env.update({k: v for k, v in world.env.items() if k.startswith(("AWS_", "DOCKER_"))})
    env["ECRBOT_REGISTRY_CA_BUNDLE"] = world.env["ECR_EDGE_CA_CERT"]
    env.update(extra)
    if not region_env:
        env.pop("AWS_REGION", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "push", *args],
        cwd=world.sample.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_push_with_the_scripts_flags_tags_sha_and_version(world: World) -> None:
    world.create_repository()
    short = world.sample.shas[0][:7]
    host = world.env["ECR_HOST"]

    done = ecrbot(
        world,
        "--registry",
        host,
        "--name",
        world.app,
        "--sha",
        short,
        "--version=1.0.0",
        region_env=False,  # the region comes from the registry host, not a fixed eu-west-2
    )

    assert done.returncode == 0, done.stderr
    tags = world.registry_tags()
    assert set(tags) == {short, "1.0.0"}  # the SHA as given; never latest
    assert f"Pushed {host}/{world.app}:{short}" in done.stdout
    assert f"Pushed {host}/{world.app}:1.0.0" in done.stdout
    assert f"Digest {tags[short]}" in done.stdout
    assert "==> Checking out" in done.stdout and "==> Authenticated" in done.stdout


def test_cli_push_of_a_catalog_app_by_an_older_full_sha(world: World) -> None:
    world.create_repository()
    first = world.sample.shas[0]
    world.sample.commit("FROM scratch\n", "v2")  # the branch has moved on since `first`
    bot_env = world.bot_env()
    work = world.tmp / "cli-work"
    done = ecrbot(
        world,
        *("--app", world.app, "--sha", first, "--version", "1.0.0"),
        ECRBOT_CONFIG=bot_env["ECRBOT_CONFIG"],
        ECRBOT_WORK_DIR=str(work),
    )

    assert done.returncode == 0, done.stderr
    assert set(world.registry_tags()) == {first, "1.0.0"}
    assert f"Pushed {world.env['ECR_HOST']}/{world.app}:{first}" in done.stdout
    assert (work / "sources").exists()  # from the app's git mirror, as the bot builds


def test_cli_unknown_and_missing_flags_fail_like_the_script(world: World) -> None:
    unknown = ecrbot(world, "--registry", "x", "--name", "n", "--sha", "1", "--colour", "red")
    missing = ecrbot(world, "--name", world.app, "--sha", "1a2b3c4")
    assert unknown.returncode == 1 and "Unknown option: --colour" in unknown.stderr
    assert missing.returncode == 1 and "Missing required option: --registry" in missing.stderr
    assert "Usage: ecrbot push --registry" in missing.stderr


def test_cli_failure_explains_and_exits_non_zero(world: World) -> None:
    # No repository in ECR: the same plain-words failure the bot posts in Slack.
    done = ecrbot(
        world,
        "--registry",
        world.env["ECR_HOST"],
        "--name",
        world.app,
        "--sha",
        world.sample.shas[0][:7],
    )
    assert done.returncode == 1
    assert "The ECR repository does not exist" in done.stderr
    assert "aws ecr create-repository" in done.stderr
