"""The BuildKit adapter against a stand-in `docker` CLI (a script given as ECRBOT_DOCKER_CLI):
arguments, environment, progress, steps from cache, failures, secrets and cancel."""

from __future__ import annotations

import itertools
import json
import os
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.adapters.buildkit import BuildKitCli, CliInfo
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, StepError, UsageError
from bot.domain.models import BuildSecret
from bot.domain.ports import BuildSpec

# BuildKit's plain progress as docker 20.10 printed it on this machine's engine.
PROGRESS = """#1 [internal] load build definition from Dockerfile
#1 sha256:dec106162263afc8298035bdddb99d0c21a6a1d01af0d940e85dfb7e9587d0fd
#1 transferring dockerfile: 336B done
#1 DONE 0.0s
#4 [base 1/2] COPY busybox /bin/busybox
#4 CACHED
#5 [base 2/2] RUN --mount=type=cache,target=/root/.cache make deps
#5 0.150 dep
#5 DONE 0.2s
#6 [final 1/1] RUN --mount=type=secret,id=npm make
#6 0.134 token=$NPM_TOKEN slack=$SLACK_BOT_TOKEN
#6 DONE 0.1s
#7 exporting to image
#7 writing image sha256:b9bda1ac703a done
#7 DONE 0.0s
"""
FAILURE = """#5 [2/2] RUN ["/bin/busybox","sh","-c","echo compiling; exit 3"]
#5 0.149 compiling
#5 ERROR: executor failed running [/bin/busybox sh -c echo compiling; exit 3]: exit code: 3
------
 > [2/2] RUN ["/bin/busybox","sh","-c","echo compiling; exit 3"]:
------
executor failed running [/bin/busybox sh -c echo compiling; exit 3]: exit code: 3
"""
FAKE_CLI = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
if args == ["--version"]:
    print("Docker version {version}, build 0000000")
    sys.exit(0)
if args[:2] == ["buildx", "version"]:
    sys.exit(0 if {buildx} else 1)
here = os.path.dirname(os.path.abspath(__file__))  # the test's settings: the env is bounded
with open(os.path.join(here, "record.json"), "w") as record:
    json.dump({{"args": args, "env": dict(os.environ)}}, record)
mode = open(os.path.join(here, "mode")).read() if os.path.exists(os.path.join(here, "mode")) else ""
for line in open(os.path.join(here, "output.txt")):
    sys.stderr.write(os.path.expandvars(line))
sys.stderr.flush()
if mode == "slow":
    time.sleep(60)
if mode == "fail":
    sys.exit(1)
with open(args[args.index("--iidfile") + 1], "w") as iid:
    iid.write("sha256:" + "ab" * 32)
"""


def fake_cli(folder: Path, version: str = "20.10.24", buildx: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "docker"
    path.write_text(FAKE_CLI.format(python=sys.executable, version=version, buildx=buildx))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def cli(tmp_path: Path) -> BuildKitCli:
    path = fake_cli(tmp_path / "bin")
    (tmp_path / "bin" / "output.txt").write_text(PROGRESS)
    (tmp_path / "context").mkdir()
    (tmp_path / "build-secrets").mkdir()
    (tmp_path / "build-secrets" / "pip").write_text("pip-value\n")
    secrets_dir = tmp_path / "build-secrets"
    return BuildKitCli(str(path), docker_host="tcp://engine:2376", secrets_dir=secrets_dir)


def fake_does(tmp_path: Path, mode: str, output: str | None = None) -> None:
    (tmp_path / "bin" / "mode").write_text(mode)
    if output is not None:
        (tmp_path / "bin" / "output.txt").write_text(output)


def spec(tmp_path: Path, **overrides: object) -> BuildSpec:
    values: dict[str, object] = {
        "context": tmp_path / "context",
        "dockerfile": "Dockerfile",
        "tag": "host/app:abc",
        "buildargs": {"GIT_SHA": "abc"},
        "labels": {"org.opencontainers.image.revision": "abc"},
    }
    values.update(overrides)
    return BuildSpec(**values)  # type: ignore[arg-type]


def recorded(tmp_path: Path) -> dict[str, object]:
    return json.loads((tmp_path / "bin" / "record.json").read_text())  # type: ignore[no-any-return]


def test_a_build_counts_steps_from_cache_and_streams_progress(
    cli: BuildKitCli, tmp_path: Path
) -> None:
    lines: list[str] = []
    built = cli.build(spec(tmp_path), lines.append, CancelToken())

    assert (built.image_id, built.steps, built.cached) == ("sha256:" + "ab" * 32, 3, 1)
    assert "#5 [base 2/2] RUN --mount=type=cache,target=/root/.cache make deps" in lines
    assert not any("sha256:dec1" in line for line in lines)  # 20.10's vertex digests


def test_the_arguments_are_a_list_and_the_environment_is_bounded(
    cli: BuildKitCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-never-to-the-cli")
    monkeypatch.setenv("NPM_TOKEN", "npm-value")
    build = spec(
        tmp_path,
        target="release",
        platforms=("linux/arm64",),
        cache_from=("host/app@sha256:" + "cd" * 32,),
        inline_cache=True,
        secrets=(
            BuildSecret("npm", env="NPM_TOKEN"),
            BuildSecret("pip", file=str(tmp_path / "build-secrets/pip")),
        ),
    )
    cli.build(build, lambda line: None, CancelToken())

    args, env = recorded(tmp_path)["args"], recorded(tmp_path)["env"]
    assert isinstance(args, list) and isinstance(env, dict)
    assert args[0] == "build" and args[-2:] == ["--", str(tmp_path / "context")]
    pairs = list(itertools.pairwise(args))
    for pair in [
        ("--tag", "host/app:abc"),
        ("--target", "release"),
        ("--platform", "linux/arm64"),
        ("--cache-from", "host/app@sha256:" + "cd" * 32),
        ("--build-arg", "BUILDKIT_INLINE_CACHE=1"),
        ("--build-arg", "GIT_SHA=abc"),
        ("--label", "org.opencontainers.image.revision=abc"),
        ("--secret", "id=npm,env=NPM_TOKEN"),
        ("--secret", f"id=pip,src={(tmp_path / 'build-secrets/pip').resolve()}"),
        ("--file", str(tmp_path / "context" / "Dockerfile")),
    ]:
        assert pair in pairs
    assert env["DOCKER_BUILDKIT"] == "1" and env["DOCKER_HOST"] == "tcp://engine:2376"
    assert env["NPM_TOKEN"] == "npm-value"  # a variable an app's secret names
    assert "SLACK_BOT_TOKEN" not in env


def test_a_secret_printed_by_the_build_is_redacted(
    cli: BuildKitCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPM_TOKEN", "npm-0123456789")
    lines: list[str] = []
    cli.build(
        spec(tmp_path, secrets=(BuildSecret("npm", env="NPM_TOKEN"),)), lines.append, CancelToken()
    )
    assert "#6 0.134 token=[secret] slack=$SLACK_BOT_TOKEN" in lines
    assert not any("npm-0123456789" in line for line in lines)


def test_a_secret_that_is_not_there_is_refused_before_building(
    cli: BuildKitCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NPM_TOKEN", raising=False)
    with pytest.raises(UsageError, match="not set for ecrbot"):
        cli.build(
            spec(tmp_path, secrets=(BuildSecret("npm", env="NPM_TOKEN"),)),
            lambda line: None,
            CancelToken(),
        )
    with pytest.raises(UsageError, match="can't read"):
        cli.build(
            spec(tmp_path, secrets=(BuildSecret("pip", file=str(tmp_path / "build-secrets/no")),)),
            lambda line: None,
            CancelToken(),
        )
    assert not (tmp_path / "bin" / "record.json").exists()


def test_a_failed_build_raises_its_closing_error_with_the_log_tail(
    cli: BuildKitCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_does(tmp_path, "fail", FAILURE)
    with pytest.raises(StepError) as raised:
        cli.build(spec(tmp_path), lambda line: None, CancelToken())
    error = raised.value
    assert error.raw == (
        "executor failed running [/bin/busybox sh -c echo compiling; exit 3]: exit code: 3"
    )
    assert "#5 0.149 compiling" in error.log_tail


def test_cancel_stops_the_cli(
    cli: BuildKitCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_does(tmp_path, "slow")
    cancel = CancelToken()
    started = threading.Event()

    def line(text: str) -> None:
        started.set()

    def cancel_once_started() -> None:
        if started.wait(10):
            cancel.cancel()

    threading.Thread(target=cancel_once_started, daemon=True).start()
    begun = time.monotonic()
    with pytest.raises(Cancelled):
        cli.build(spec(tmp_path), line, cancel)
    assert time.monotonic() - begun < 10  # the fake would sleep 60 s


def test_the_first_cli_on_path_that_can_build_with_buildkit_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = fake_cli(tmp_path / "newer", version="28.2.2", buildx=False)
    older = fake_cli(tmp_path / "older", version="20.10.24")
    monkeypatch.setenv("PATH", f"{newer.parent}{os.pathsep}{older.parent}")
    assert BuildKitCli().cli().path == str(older)

    with_buildx = fake_cli(tmp_path / "buildx", version="28.2.2", buildx=True)
    monkeypatch.setenv("PATH", f"{with_buildx.parent}{os.pathsep}{older.parent}")
    assert BuildKitCli().cli().path == str(with_buildx)

    monkeypatch.setenv("PATH", str(newer.parent))  # none can: run it, its error explains
    assert BuildKitCli().cli().path == str(newer)

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="none is on the bot's PATH"):
        BuildKitCli().cli()


def test_no_cli_after_the_first_that_can_build_is_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each probe runs a CLI once or twice: `ecrbot push` pays for it in every CI job.
    with_buildx = fake_cli(tmp_path / "buildx", version="28.2.2", buildx=True)
    ran = tmp_path / "ran"
    later = tmp_path / "later" / "docker"
    later.parent.mkdir()
    later.write_text(f"#!/bin/sh\necho ran > {ran}\n")
    later.chmod(later.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{with_buildx.parent}{os.pathsep}{later.parent}")
    assert BuildKitCli().cli().path == str(with_buildx)
    assert not ran.exists()


@pytest.mark.parametrize(
    ("version", "buildx", "buildkit"),
    [
        ((18, 9), False, False),
        ((20, 10), False, True),
        ((23, 0), False, False),
        ((28, 2), True, True),
    ],
)
def test_which_clis_build_with_buildkit(
    version: tuple[int, int], buildx: bool, buildkit: bool
) -> None:
    assert CliInfo("docker", version, buildx).buildkit is buildkit
