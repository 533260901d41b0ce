"""`/ecr push` with BuildKit, the default builder: mounts, secrets, stages, `.dockerignore`,
cancel, and layers reused from ECR by an engine that never built the app."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

import docker
import pytest
import requests

from tests.e2e.harness import processes, wait_until
from tests.e2e.world import World, assert_succeeded, text_of

BUSYBOX = "FROM scratch\nCOPY busybox /bin/busybox\n"
SECRET = "s3cr3t-npm-token-4f1d9a7c"  # the value the build must never leak


@dataclass
class PushedImage:
    """An image as the registry serves it: its config and each layer's files."""

    config: dict[str, Any]
    layers: list[tuple[str, dict[str, bytes]]]  # (digest, path -> content)

    def files(self) -> dict[str, bytes]:
        merged: dict[str, bytes] = {}
        for _, files in self.layers:
            merged.update(files)
        return merged

    def raw(self) -> bytes:
        """Every byte a puller gets: the config and the layers' files, names and contents."""
        parts = [json.dumps(self.config).encode()]
        for _, files in self.layers:
            parts += [name.encode() + b"\n" + content for name, content in files.items()]
        return b"\n".join(parts)


def pushed_image(world: World, tag: str) -> PushedImage:
    host, auth = world.env["ECR_HOST"], ("AWS", "123456789012-auth-token")
    verify = world.env["ECR_EDGE_CA_CERT"]
    base = f"https://{host}/v2/{world.app}"
    manifest = requests.get(
        f"{base}/manifests/{tag}",
        auth=auth,
        verify=verify,
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    manifest.raise_for_status()

    def blob(digest: str) -> bytes:
        answer = requests.get(f"{base}/blobs/{digest}", auth=auth, verify=verify, timeout=30)
        answer.raise_for_status()
        return answer.content

    config = json.loads(blob(manifest.json()["config"]["digest"]))
    layers = []
    for layer in manifest.json()["layers"]:
        data = gzip.decompress(blob(layer["digest"]))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            files = {
                member.name.lstrip("./"): (tar.extractfile(member) or io.BytesIO()).read()
                for member in tar.getmembers()
                if member.isfile()
            }
        layers.append((layer["digest"], files))
    return PushedImage(config, layers)


def use(world: World, **settings: Any) -> None:
    world.apps[world.app].update(settings)


def test_cache_bind_and_secret_mounts_build_and_the_secret_stays_out(world: World) -> None:
    world.create_repository()
    use(world, secrets={"npm": {"env": "ECRBOT_BUILD_SECRET_NPM"}})
    # VERSION names the app: the steps after it never come from another test's build cache.
    sha = world.sample.commit(
        BUSYBOX
        + "COPY VERSION /VERSION\n"
        + f"RUN --mount=type=cache,id={world.app},target=/root/.cache "
        '["/bin/busybox", "sh", "-c", '
        '"echo cached-dep >> /root/.cache/log && /bin/busybox cp /root/.cache/log /deps"]\n'
        'RUN --mount=type=bind,source=VERSION,target=/mnt/VERSION ["/bin/busybox", "cp", '
        '"/mnt/VERSION", "/version-from-bind"]\n'
        'RUN --mount=type=secret,id=npm ["/bin/busybox", "sh", "-c", '
        '"/bin/busybox cat /run/secrets/npm; /bin/busybox sha256sum /run/secrets/npm > /sum"]\n',
        "mounts",
    )
    world.start_bot(ECRBOT_BUILD_SECRET_NPM=SECRET)

    parent = world.wait_finished(world.push(sha, "1.0.0"))

    assert_succeeded(parent)
    image = pushed_image(world, sha)
    files = image.files()
    assert files["deps"] == b"cached-dep\n"  # the cache mount was there, and not in the image
    assert not any(name.startswith("root/.cache") for name in files)
    assert files["version-from-bind"] == (world.sample.path / "VERSION").read_bytes()
    assert not any(name.startswith("mnt/") for name in files)
    # The secret was mounted (its checksum is in the image), and only its checksum is.
    assert hashlib.sha256(SECRET.encode()).hexdigest().encode() in files["sum"]
    assert SECRET.encode() not in image.raw()  # layers, config, labels and history
    assert "run/secrets" not in json.dumps(image.config.get("config"))
    history = json.dumps(image.config["history"])
    assert "/run/secrets/npm" in history and SECRET not in history
    # The build printed the secret: the log and Slack got it redacted.
    assert world.bot is not None
    assert SECRET not in world.bot.log()
    assert SECRET not in json.dumps([call.params for call in world.slack.calls()])


def test_a_target_stage_and_build_args_from_the_catalog(world: World) -> None:
    world.create_repository()
    use(world, target="release", build_args={"FLAVOUR": "slim"})
    sha = world.sample.commit(
        "FROM scratch AS base\nCOPY busybox /bin/busybox\n"
        "FROM base AS release\nARG FLAVOUR\nARG GIT_SHA\n"
        'RUN ["/bin/busybox", "sh", "-c", "echo $FLAVOUR $GIT_SHA > /release"]\n'
        'FROM base AS debug\nRUN ["/bin/busybox", "sh", "-c", "echo debug > /debug"]\n',
        "stages",
    )
    world.start_bot()

    parent = world.wait_finished(world.push(sha))

    assert_succeeded(parent)
    files = pushed_image(world, sha).files()
    assert files["release"] == f"slim {sha}\n".encode()
    assert "debug" not in files
    assert world.image_labels(sha)["org.opencontainers.image.revision"] == sha


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_dockerignore_is_honoured(world: World, builder: str) -> None:
    world.create_repository()
    use(world, builder=builder)
    (world.sample.path / ".dockerignore").write_text("*.log\nsecrets/\n")
    (world.sample.path / "debug.log").write_text("noise\n")
    (world.sample.path / "secrets").mkdir()
    (world.sample.path / "secrets" / "dev.env").write_text("API=dev\n")
    sha = world.sample.commit(BUSYBOX + "COPY . /app/\n", "ignore")
    world.start_bot()

    assert_succeeded(world.wait_finished(world.push(sha)))

    files = pushed_image(world, sha).files()
    assert "app/VERSION" in files and "app/Dockerfile" in files
    assert not any(name.endswith(".log") or "secrets/" in name for name in files)


def test_the_classic_builder_refuses_run_mount_in_plain_words(world: World) -> None:
    world.create_repository()
    use(world, builder="classic")
    sha = world.sample.commit(
        BUSYBOX + 'RUN --mount=type=cache,target=/c ["/bin/busybox", "true"]\n', "mount"
    )
    world.start_bot()

    shown = text_of(world.wait_finished(world.push(sha)))

    assert "Failed at *build*: The Dockerfile needs BuildKit" in shown
    assert "remove `builder: classic`" in shown


def test_several_platforms_are_refused_naming_what_the_engine_lacks(world: World) -> None:
    world.create_repository()
    use(world, platforms=["linux/amd64", "linux/arm64"])
    world.start_bot()

    shown = text_of(world.wait_finished(world.push(world.sample.shas[0])))

    assert "Failed at *build*" in shown
    assert "containerd image store" in shown and "buildx plugin" in shown
    assert "platforms: [linux/arm64]" in shown
    assert world.registry_tags() == {}


def test_cancel_mid_buildkit_build_stops_the_build_on_the_engine(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(BUSYBOX + 'RUN ["/bin/busybox", "sleep", "173"]\n', "slow")
    world.start_bot()
    job = world.push(sha)
    sleeping = ("/bin/busybox", "sleep", "173")
    wait_until(lambda: processes(*sleeping), timeout=60)
    cli = ("--tag", f"{world.env['ECR_HOST']}/{world.app}:{sha}")
    assert processes(*cli), "the build runs through the docker CLI"

    answer = world.slash(f"cancel {job}")
    assert f"Job {job}: cancel requested" in answer.json()["text"]

    parent = world.wait_finished(job, timeout=30)
    assert parent["text"].startswith("🛑")
    # The RUN step's process on the engine is gone, and so is the CLI.
    wait_until(lambda: not processes(*sleeping) and not processes(*cli), timeout=20)
    assert world.registry_tags() == {}


def test_an_engine_that_never_built_the_app_reuses_layers_from_ecr(world: World) -> None:
    """The second engine is this one made empty for the app: its images removed and the build
    cache pruned (`docker builder prune -af`); a second dockerd here broke networking."""
    world.create_repository()
    # The app's name in the dependency step: no other test's build can leave it in the cache.
    dependencies = f"echo {world.app}; /bin/busybox head -c 300000 /dev/urandom > /deps"
    dockerfile = BUSYBOX + f'RUN ["/bin/busybox", "sh", "-c", "{dependencies}"]\n'
    dockerfile += "COPY VERSION /VERSION\n"
    first = world.sample.commit(dockerfile, "v1")
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(first)))
    forget_the_app(world)

    second = world.sample.commit(dockerfile, "v2")
    parent = world.wait_finished(world.push(second))

    assert_succeeded(parent)
    # The progress message's last edit may follow the final reply by its interval (1 s).
    job = world.jobs()[-1]["id"]
    built = wait_until(
        lambda: [m["text"] for m in world.thread(job) if "steps cached" in m["text"]], timeout=10
    )
    assert "2 of 3 steps cached" in built[0] and "downloaded from ECR" in built[0], built
    before, after = pushed_image(world, first), pushed_image(world, second)
    reused = {digest for digest, _ in before.layers} & {digest for digest, _ in after.layers}
    deps = next(digest for digest, files in before.layers if "deps" in files)
    assert deps in reused  # random bytes: rebuilt, it would differ
    assert len(reused) == 2  # busybox and the dependencies; only VERSION's layer is new


def forget_the_app(world: World) -> None:
    """Remove every image of the app from the engine and prune the whole build cache."""
    client = docker.from_env()
    repository = f"{world.env['ECR_HOST']}/{world.app}"
    for image in client.images.list(name=repository):
        client.images.remove(image.id, force=True)
    client.api.prune_builds(all=True)  # the engine's whole build cache: `builder prune -af`
    assert not client.images.list(name=repository)
