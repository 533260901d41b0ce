"""`ecrbot promote` against the test services: an image pushed with `ecrbot push` is promoted by
digest to an environment's repository, ECR describes the same digest on both sides, a second
promotion is "already there" without a copy, and a lock taken in Slack refuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.e2e.harness import ALICE
from tests.e2e.test_cli_push import ecrbot
from tests.e2e.world import World


def promote(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = world.bot_env()
    env["PATH"] = os.path.dirname(sys.executable) + ":" + env["PATH"]
    return subprocess.run(
        [sys.executable, "-m", "bot", "promote", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_promote_copies_by_digest_then_answers_already_there(world: World) -> None:
    prod_repo = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod_repo)
    short = world.sample.shas[0][:7]
    pushed = ecrbot(world, "--registry", world.env["ECR_HOST"], "--name", world.app, "--sha",
                    short, "--version=1.0.0")  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "home", "repository": prod_repo}
    ]
    world.start_bot()  # the bot's database exists (locks are read there), and /ecr lock works

    started = time.monotonic()
    first = promote(world, "--app", world.app, "--ref", "1.0.0", "--to", "prod")
    first_s = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    source = world.registry_tags()["1.0.0"]
    assert world.registry_tags(prod_repo) == {"1.0.0": source}  # describe_images: same digest
    assert f"Promoted {world.app} 1.0.0 to prod" in first.stdout
    assert f"to      {world.env['ECR_HOST']}/{prod_repo}:1.0.0" in first.stdout
    assert source in first.stdout

    started = time.monotonic()
    again = promote(world, "--app", world.app, "--ref", "1.0.0", "--to", "prod", "--format=json")
    again_s = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["result"] == "already_there" and answer["digest"] == source
    assert answer["targets"] == [f"{world.env['ECR_HOST']}/{prod_repo}:1.0.0"]
    assert answer["seconds"] < 1.0  # the service's own time: no copy, two digest reads

    missing = promote(world, "--app", world.app, "--ref", "9.9.9", "--to", "prod")
    assert missing.returncode == 1 and "is not in the home registry" in missing.stderr
    unknown = promote(world, "--app", world.app, "--ref", "1.0.0", "--to", "qa")
    assert unknown.returncode == 1 and "has no environment" in unknown.stderr

    # A lock taken in Slack refuses the terminal too, naming who, when and why.
    response = world.slash(f'lock {world.app} prod "freeze until Monday"', user=ALICE)
    assert ":lock:" in response.json()["text"]
    locked = promote(world, "--app", world.app, "--ref", "1.0.0", "--to", "prod", "--format=json")
    assert locked.returncode == 1
    assert "are locked" in locked.stderr and "freeze until Monday" in locked.stderr
    assert ALICE in locked.stderr and json.loads(locked.stdout)["result"] == "failed"

    print(
        f"ecrbot promote: copy {first_s:.2f} s, already there {again_s:.2f} s (processes); "
        f"already there in the service {answer['seconds']:.2f} s"
    )
