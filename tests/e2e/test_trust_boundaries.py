"""Issue #18 end to end: 0 secrets of the bot readable from a build, and a registry label that
anyone with push access can write never stands in for ecrbot's own build."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import docker

from tests.e2e.world import World, assert_succeeded, text_of

BUSYBOX = "FROM scratch\nCOPY busybox /bin/busybox\n"
ALLOWED = "npm-allowed-secret-7c41e09b"  # a secret made for builds: still never in Slack
IRSA_TOKEN = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def test_every_source_of_the_bots_own_secrets_is_refused_at_load(world: World) -> None:
    secrets_dir = world.tmp / "build-secrets"
    secrets_dir.mkdir()
    (secrets_dir / "escape").symlink_to(world.tmp / "ecrbot.db")
    tried = {
        "proc1": {"file": "/proc/1/environ"},
        "procself": {"file": "/proc/self/environ"},
        "irsa": {"file": IRSA_TOKEN},
        "serviceaccount": {"file": SA_TOKEN},
        "database": {"file": str(world.tmp / "ecrbot.db")},
        "symlink": {"file": "escape"},
        "github": {"env": "GITHUB_TOKEN"},
        "slack": {"env": "SLACK_BOT_TOKEN"},
        "unprefixed": {"env": "NPM_TOKEN"},
    }
    world.apps[world.app]["secrets"] = tried
    env = world.bot_env(ECRBOT_BUILD_SECRETS_DIR=str(secrets_dir))
    env["PATH"] = os.path.dirname(sys.executable) + ":" + env["PATH"]

    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    said = done.stderr
    assert f"has {len(tried)} problem(s)" in said, said
    for name in tried:
        assert f"apps.{world.app}.secrets.{name}" in said, said
    assert said.count("outside the build-secrets directory") == 6
    assert said.count("one of ecrbot's own variables") == 2
    assert "does not start with `ECRBOT_BUILD_SECRET_`" in said


def test_a_build_that_prints_an_allowed_secret_base64_leaks_it_nowhere(world: World) -> None:
    world.create_repository()
    secrets_dir = world.tmp / "build-secrets"
    secrets_dir.mkdir()
    (secrets_dir / "pip").write_text(ALLOWED + "-file")
    world.apps[world.app]["secrets"] = {
        "npm": {"env": "ECRBOT_BUILD_SECRET_NPM"},
        "pip": {"file": "pip"},
    }
    sha = world.sample.commit(
        BUSYBOX + 'RUN --mount=type=secret,id=npm --mount=type=secret,id=pip ["/bin/busybox", '
        '"sh", "-c", "/bin/busybox base64 /run/secrets/npm; /bin/busybox base64 /run/secrets/pip;'
        ' /bin/busybox cat /run/secrets/npm; exit 3"]\n',
        "leak",
    )
    world.start_bot(ECRBOT_BUILD_SECRET_NPM=ALLOWED, ECRBOT_BUILD_SECRETS_DIR=str(secrets_dir))

    parent = world.wait_finished(world.push(sha))

    job = parent["metadata"]["event_payload"]["job_id"]
    shown = text_of(parent) + json.dumps(world.thread(job))
    assert "Failed at *build*" in shown
    sent = json.dumps([call.params for call in world.slack.calls()])
    for value in (ALLOWED, ALLOWED + "-file"):
        for form in (value, base64.b64encode(value.encode()).decode()[:-4]):
            assert form not in sent
            assert world.bot is not None and form not in world.bot.log()
    assert "RUN --mount=type=secret" in shown  # the step's name is shown, its output is not
    assert world.bot is not None and "build with secrets failed" in world.bot.log()


def attacker_pushes(world: World, sha: str) -> str:
    """Someone with push access, not ecrbot, pushes an image labelled with the release SHA."""
    host, uri = world.env["ECR_HOST"], f"{world.env['ECR_HOST']}/{world.app}:{sha}"
    client = docker.DockerClient(base_url=world.env.get("DOCKER_HOST"))
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = (BUSYBOX + 'CMD ["/bin/busybox", "echo", "not ecrbot"]\n').encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(str(world.sample.path / "busybox"), "busybox")
    context.seek(0)
    client.images.build(
        fileobj=context,
        custom_context=True,
        tag=uri,
        labels={"org.opencontainers.image.revision": sha},
    )
    auth = {"username": "AWS", "password": "123456789012-auth-token"}
    for event in client.images.push(uri, auth_config=auth, stream=True, decode=True):
        assert "error" not in event, event
    client.close()
    assert host
    return world.registry_tags()[sha]


def test_an_image_labelled_with_the_release_sha_by_someone_else_is_never_reused(
    world: World,
) -> None:
    world.create_repository(immutable=False)
    sha = world.sample.shas[0]
    planted = attacker_pushes(world, sha)
    world.start_bot()

    parent = world.wait_finished(world.push(sha, "1.4.0"))

    shown = assert_succeeded(parent)
    tags = world.registry_tags()
    assert tags["1.4.0"] != planted and tags[sha] == tags["1.4.0"]  # ecrbot's own build
    assert "already in ECR" not in shown
    thread = json.dumps(world.thread(parent["metadata"]["event_payload"]["job_id"]))
    assert "moves from" in thread and "labelled" in thread

    again = world.wait_finished(world.push(sha, "1.4.1"))  # what ecrbot built is reused

    assert "no build" in text_of(again)
    assert world.registry_tags()["1.4.1"] == tags["1.4.0"]


def test_the_cli_builds_only_the_checked_out_commit(world: World, tmp_path: Path) -> None:
    world.create_repository()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    env.update({k: v for k, v in world.env.items() if k.startswith(("AWS_", "DOCKER_"))})
    env["ECRBOT_REGISTRY_CA_BUNDLE"] = world.env["ECR_EDGE_CA_CERT"]
    (world.sample.path / "Dockerfile").write_text(BUSYBOX + 'RUN ["/bin/busybox", "true"]\n')

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "push",
            "--registry",
            world.env["ECR_HOST"],
            "--name",
            world.app,
            "--sha",
            world.sample.shas[0],
        ],
        cwd=world.sample.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1 and "uncommitted change" in done.stderr, done.stderr
    assert world.registry_tags() == {}
