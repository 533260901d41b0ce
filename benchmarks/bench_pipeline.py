"""Pipeline wall time for a small image versus the runbook's four manual CLI steps.

Same machine, same image (static busybox + an 8 MB layer that is new every run, so every run
builds and uploads it), same registry, same builder: BuildKit on both sides (ecrbot builds with
BuildKit through the docker CLI, so the manual `docker build` runs with `DOCKER_BUILDKIT=1`; a
classic build on one side only would compare two builders, not ecrbot with the runbook).
Manual: `docker build`, `aws ecr get-login-password | docker login`, `docker tag`, `docker push`.
ecrbot: PushPipeline.run in-process, with a fresh ECR client each run (no cached token). Runs
alternate. Floor (issue #2): median ratio <= 1.10.
Run: `python -m benchmarks.bench_pipeline [--runs 7]`.
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
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.aws import EcrRegistry
from bot.adapters.buildkit import BuildKitCli
from bot.adapters.engine import DockerEngine
from bot.adapters.source import DirectorySource
from bot.domain.cancel import CancelToken
from bot.domain.models import AppSpec, BuildSettings, PushRequest, RegistrySpec
from bot.domain.pipeline import PushPipeline
from tests.e2e.harness import ACCOUNT, REGION, ecr, service_env, unique

PAYLOAD_BYTES = 8 * 1024 * 1024
FLOOR = 1.10  # ecrbot's median over the manual steps' median


def verdict(figures: Mapping[str, float]) -> int:
    """0 when ecrbot's median is within the floor of the manual steps' median, else 1."""
    return 0 if figures["ecrbot_s"] / figures["manual_s"] <= FLOOR else 1


def manual(docker: str, context: Path, host: str, repo: str, tag: str, env: dict[str, str]) -> None:
    """The runbook's steps 1-4, as an app team runs them, with the docker CLI ecrbot uses."""
    run = {"cwd": context, "env": env, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([docker, "build", "-q", "-t", f"{repo}:latest", "."], **run)  # type: ignore[call-overload]
    login = subprocess.Popen(
        ["aws", "ecr", "get-login-password", "--region", REGION], env=env, stdout=subprocess.PIPE
    )
    subprocess.run(
        [docker, "login", "--username", "AWS", "--password-stdin", host],
        stdin=login.stdout,
        **run,  # type: ignore[call-overload]
    )
    login.wait()
    subprocess.run([docker, "tag", f"{repo}:latest", f"{host}/{repo}:{tag}"], **run)  # type: ignore[call-overload]
    subprocess.run([docker, "push", "-q", f"{host}/{repo}:{tag}"], **run)  # type: ignore[call-overload]


def commit(context: Path) -> str:
    """Commit the context as it is: ecrbot builds a directory only if it is the named commit."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C", str(context)]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "payload"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    services = service_env()
    os.environ.update({k: v for k, v in services.items() if k.startswith(("AWS_", "DOCKER_"))})
    repo = unique("bench-pipeline")
    ecr(services).create_repository(repositoryName=repo, imageTagMutability="MUTABLE")
    host = services["ECR_HOST"]
    with tempfile.TemporaryDirectory() as tmp:
        context, docker_config = Path(tmp) / "ctx", Path(tmp) / "docker-config"
        context.mkdir()
        docker_config.mkdir()
        shutil.copy(services["BUSYBOX_STATIC"], context / "busybox")
        (context / "Dockerfile").write_text(
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY payload /payload\n"
            'ENTRYPOINT ["/bin/busybox"]\n'
        )
        # Neither side sends the git history to the builder.
        (context / ".dockerignore").write_text(".git\n")
        subprocess.run(["git", "init", "-q", str(context)], check=True)
        # The manual path logs in like a person: its config goes to a scratch DOCKER_CONFIG.
        env = {**os.environ, "DOCKER_CONFIG": str(docker_config), "DOCKER_BUILDKIT": "1"}
        # The CLI ecrbot builds with (the first on PATH that can run BuildKit), both sides.
        docker = BuildKitCli().cli().path
        # BuildKit explicitly (the default today), so a changed default can't change the comparison.
        build = BuildSettings(builder="buildkit")
        app = AppSpec(name=repo, source=str(context), repository=repo, build=build)
        source = DirectorySource(context)

        def ecrbot(tag: str) -> None:
            registry = EcrRegistry(
                RegistrySpec(ACCOUNT, REGION),
                endpoint_url=services["AWS_ENDPOINT_URL"],
                ca_bundle=services["ECR_EDGE_CA_CERT"],
            )
            pipeline = PushPipeline(source, DockerEngine(), registry, lambda: datetime.now(UTC))
            pipeline.run(app, PushRequest(repo, tag, None, "bench"), lambda e: None, CancelToken())

        timings: dict[str, list[float]] = {"manual": [], "ecrbot": []}
        for run in range(args.runs + 1):  # run 0 warms the build cache for the busybox layer
            order = ["manual", "ecrbot"] if run % 2 else ["ecrbot", "manual"]
            for name in order:
                (context / "payload").write_bytes(secrets.token_bytes(PAYLOAD_BYTES))
                tag = commit(context)  # not timed: the runbook starts from a commit too
                started = time.perf_counter()
                if name == "manual":
                    manual(docker, context, host, repo, tag, env)
                else:
                    ecrbot(tag)
                if run:
                    timings[name].append(time.perf_counter() - started)
    manual_s, ecrbot_s = (statistics.median(timings[k]) for k in ("manual", "ecrbot"))
    ratio = ecrbot_s / manual_s
    print(f"manual 4 steps: median {manual_s:.3f} s  {[round(t, 3) for t in timings['manual']]}")
    print(f"ecrbot pipeline: median {ecrbot_s:.3f} s  {[round(t, 3) for t in timings['ecrbot']]}")
    failed = verdict({"manual_s": manual_s, "ecrbot_s": ecrbot_s})
    print(f"{'FAIL' if failed else 'PASS'}: ratio {ratio:.3f} (floor: <= {FLOOR:.2f})")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
