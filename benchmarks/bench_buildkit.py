"""BuildKit pushes against the runbook's manual steps, side by side in one run (issue #11).

The app: static busybox, a dependency step that is slow to build and changes rarely (a shell
loop of about 2 s and 24 MB of output, standing in for `pip install` or `npm ci`), then an 8 MB
payload that is new in every commit, and `ARG GIT_SHA`. Each push is of a new commit.

ecrbot: `PushPipeline.run` in-process with the adapters the bot uses (git mirror and `git
archive`, ECR through boto3 with a fresh client and token per push, BuildKit through the docker
CLI, docker-py's push), tagging the SHA and a version. The runbook (RB-0023 steps 1-4): `git
clone`, `docker build --build-arg GIT_SHA=<sha>` (BuildKit, with the same docker CLI the bot
uses), `aws ecr get-login-password | docker login`, `docker tag` for the SHA and the version,
`docker push` of both. Same engine, registry and machine; the pairs alternate who goes first.

- warm: both on an engine that built the previous commit. Floor: median ratio <= 1.00.
- cold: an engine that has never built the app. There is one engine here (a second dockerd
  broke this machine's networking), so "never built" is this engine after removing every image
  of the app and pruning the whole build cache (`docker builder prune -af`), before each cold
  push of either side. The runbook's cold build is `docker build --no-cache`; ecrbot reuses the
  layers of the app's newest image in ECR (inline cache metadata). Floor: ratio <= 0.70.

Run: `python -m benchmarks.bench_buildkit [--pairs 7] [--cold-pairs 3]` (needs the test
services; the cold case prunes the engine's whole build cache).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import docker

from bot.adapters.aws import EcrRegistry
from bot.adapters.buildkit import BuildKitCli
from bot.adapters.engine import DockerEngine
from bot.adapters.source import GitSource
from bot.domain.cancel import CancelToken
from bot.domain.models import AppSpec, ProgressEvent, PushRequest, RegistrySpec, Step
from bot.domain.pipeline import PushPipeline
from tests.e2e.harness import ACCOUNT, REGION, ecr, git, service_env, unique

PAYLOAD_BYTES = 8 * 1024 * 1024
# About 2 s of one core here: the dependency step's build time (busybox sh, 2 M iterations).
DEPENDENCIES = (
    'RUN ["/bin/busybox", "sh", "-c", "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done; '
    '/bin/busybox head -c 24000000 /dev/urandom > /deps"]\n'
)
DOCKERFILE = (
    "FROM scratch\nCOPY busybox /bin/busybox\nCOPY deps.lock /deps.lock\n"
    + DEPENDENCIES
    + "COPY payload /payload\nARG GIT_SHA\n"
)
WARM_FLOOR, COLD_FLOOR = 1.00, 0.70


class Bench:
    """One app repository, its ECR repository, and both ways of pushing it."""

    def __init__(self, tmp: Path) -> None:
        self.services = service_env()
        os.environ.update(
            {k: v for k, v in self.services.items() if k.startswith(("AWS_", "DOCKER_"))}
        )
        # One ECR repository per side, as for two apps: the runbook's images carry no inline
        # cache metadata, and ecrbot's newest image must be one ecrbot pushed, as in real use.
        self.repo = unique("bench-buildkit")
        self.manual_repo = f"{self.repo}-runbook"
        for name in (self.repo, self.manual_repo):
            ecr(self.services).create_repository(repositoryName=name)
        self.host = self.services["ECR_HOST"]
        self.tmp = tmp
        # And one source repository per side: each fetches or clones only its own commits.
        self.sources = {"ecrbot": tmp / "src-ecrbot", "manual": tmp / "src-runbook"}
        for src in self.sources.values():
            src.mkdir()
            git(src, "init", "--quiet", "--initial-branch=main")
            shutil.copy(self.services["BUSYBOX_STATIC"], src / "busybox")
            (src / "Dockerfile").write_text(DOCKERFILE)
            # The app's name in the lock file: no earlier run's cache serves its dependencies.
            (src / "deps.lock").write_text(f"{self.repo}\n")
        self.app = AppSpec(name=self.repo, source=str(self.sources["ecrbot"]), repository=self.repo)
        self.source = GitSource(tmp / "mirrors")
        self.cli = BuildKitCli().cli().path  # the same docker CLI for both sides
        # The manual side logs in like a person: its config goes to a scratch DOCKER_CONFIG.
        (tmp / "docker-config").mkdir()
        self.env = {
            **os.environ,
            "DOCKER_CONFIG": str(tmp / "docker-config"),
            "DOCKER_BUILDKIT": "1",
        }
        self.runs = 0
        self.notes: list[str] = []

    def commit(self, side: str) -> tuple[str, str]:
        """A new commit with a new 8 MB payload; returns its SHA and a version for it."""
        self.runs += 1
        src = self.sources[side]
        (src / "payload").write_bytes(secrets.token_bytes(PAYLOAD_BYTES))
        git(src, "add", "-A")
        git(src, "commit", "--quiet", "-m", f"change {self.runs}")
        return git(src, "rev-parse", "HEAD"), f"1.0.{self.runs}"

    def ecrbot(self, sha: str, version: str) -> None:
        registry = EcrRegistry(
            RegistrySpec(ACCOUNT, REGION),
            endpoint_url=self.services["AWS_ENDPOINT_URL"],
            ca_bundle=self.services["ECR_EDGE_CA_CERT"],
        )
        pipeline = PushPipeline(self.source, DockerEngine(), registry, lambda: datetime.now(UTC))

        def emit(event: ProgressEvent) -> None:
            if event.step is Step.BUILD and event.kind == "finished":
                self.notes.append(event.message)

        request = PushRequest(self.repo, sha, version, "bench")
        pipeline.run(self.app, request, emit, CancelToken())

    def manual(self, sha: str, version: str, *, no_cache: bool = False) -> None:
        """RB-0023 steps 1-4 as an app team runs them, from a fresh clone."""
        checkout = self.tmp / f"clone-{sha[:12]}-{time.monotonic_ns()}"
        run: dict[str, object] = {"env": self.env, "check": True, "stdout": subprocess.DEVNULL}
        # Over the git protocol, as from a remote: a local-path clone only hard-links objects
        # (20 ms, not what a clone costs). Depth 1, as CI's checkout does: a full clone would
        # grow with the benchmark's own history of 8 MB commits.
        source = f"file://{self.sources['manual']}"
        clone = ["git", "clone", "--quiet", "--depth", "1", source, str(checkout)]
        subprocess.run(clone, **run)  # type: ignore[call-overload]
        local = f"{self.manual_repo}:{sha}"
        build = [self.cli, "build", "-q", "--build-arg", f"GIT_SHA={sha}", "-t", local]
        subprocess.run([*build, *(["--no-cache"] if no_cache else []), str(checkout)], **run)  # type: ignore[call-overload]
        token = subprocess.run(
            ["aws", "ecr", "get-login-password", "--region", REGION],
            env=self.env,
            check=True,
            capture_output=True,
        ).stdout
        login = [self.cli, "login", "--username", "AWS", "--password-stdin", self.host]
        subprocess.run(login, input=token, env=self.env, check=True, capture_output=True)
        for tag in (sha, version):
            subprocess.run([self.cli, "tag", local, f"{self.host}/{self.manual_repo}:{tag}"], **run)  # type: ignore[call-overload]
        for tag in (sha, version):
            subprocess.run([self.cli, "push", "-q", f"{self.host}/{self.manual_repo}:{tag}"], **run)  # type: ignore[call-overload]
        shutil.rmtree(checkout)

    def forget(self) -> None:
        """Make the engine one that never built the app: its images gone, no build cache."""
        client = docker.from_env()
        for name in (
            self.manual_repo,
            f"{self.host}/{self.repo}",
            f"{self.host}/{self.manual_repo}",
        ):
            for image in client.images.list(name=name):
                client.images.remove(image.id, force=True)
        client.api.prune_builds(all=True)


def pairs(
    bench: Bench,
    count: int,
    sides: dict[str, Callable[[str, str], None]],
    before: Callable[[], None],
) -> dict[str, list[float]]:
    """`count` pairs of pushes of new commits; who goes first alternates."""
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for index in range(count):
        order = list(sides) if index % 2 else list(reversed(sides))
        for name in order:
            sha, version = bench.commit(name)
            before()
            started = time.perf_counter()
            sides[name](sha, version)
            timings[name].append(time.perf_counter() - started)
    return timings


def report(label: str, timings: dict[str, list[float]], floor: float) -> float:
    manual_s, ecrbot_s = (statistics.median(timings[k]) for k in ("manual", "ecrbot"))
    ratios = [e / m for e, m in zip(timings["ecrbot"], timings["manual"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"{label} runbook: median {manual_s:.3f} s  {[round(t, 3) for t in timings['manual']]}")
    print(f"{label} ecrbot:  median {ecrbot_s:.3f} s  {[round(t, 3) for t in timings['ecrbot']]}")
    verdict = "PASS" if ratio <= floor else "FAIL"
    print(
        f"{verdict} {label}: median of the pairs' ratios {ratio:.3f} (ratio of medians "
        f"{ecrbot_s / manual_s:.3f}; floor <= {floor:.2f})"
    )
    return ratio


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the warm and the cold median pair ratios are within their floors, else 1."""
    ok = figures["warm_ratio"] <= WARM_FLOOR and figures["cold_ratio"] <= COLD_FLOOR
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--cold-pairs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecrbot-bench-buildkit-") as tmp:
        bench = Bench(Path(tmp))
        # Warm-up, not timed: both sides' first push builds the dependencies once.
        bench.ecrbot(*bench.commit("ecrbot"))
        bench.manual(*bench.commit("manual"))
        warm = pairs(
            bench,
            args.pairs,
            {"manual": bench.manual, "ecrbot": bench.ecrbot},
            before=lambda: None,
        )
        bench.notes.clear()
        cold = pairs(
            bench,
            args.cold_pairs,
            {
                "manual": lambda sha, version: bench.manual(sha, version, no_cache=True),
                "ecrbot": bench.ecrbot,
            },
            before=bench.forget,
        )
        print(f"docker CLI: {bench.cli}; ecrbot's cold builds: {bench.notes}")
    figures = {
        "warm_ratio": report("warm", warm, WARM_FLOOR),
        "cold_ratio": report("cold", cold, COLD_FLOOR),
    }
    return verdict(figures)


if __name__ == "__main__":
    raise SystemExit(main())
