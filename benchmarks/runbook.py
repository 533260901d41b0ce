"""One plain runbook process (RB-0023 steps 1-4), for bench_queue_cost: its builds one after
another, each as an app team runs them by hand: `git clone` (depth 1, over the git protocol),
`docker build --build-arg GIT_SHA` (BuildKit, the docker CLI ecrbot uses), `aws ecr
get-login-password | docker login`, `docker tag` for the SHA and the version, `docker push` of
both.

`python -m benchmarks.runbook SPEC.json`: SPEC holds `docker` (the CLI), `host` (the registry),
`region`, `config` (this process's DOCKER_CONFIG: it logs in like one person), `scratch` (for
clones) and `builds`, a list of [source directory, ECR repository, SHA, version]. Prints one line
of JSON, {"started": ..., "finished": ..., "steps": {step: seconds}} (wall clock), so the
interpreter's start is not timed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


class Steps:
    """Seconds per step, summed over the builds (printed beside the timestamps)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._step, self._at = "", 0.0

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        if self._step:
            self.seconds[self._step] = self.seconds.get(self._step, 0.0) + now - self._at
        self._step, self._at = step, now


def build_and_push(
    spec: dict[str, str],
    env: dict[str, str],
    steps: Steps,
    build: tuple[str, str, str, str],
) -> None:
    source, repo, sha, version = build
    docker, host = spec["docker"], spec["host"]
    steps("clone")
    checkout = Path(spec["scratch"]) / f"clone-{repo}-{sha[:12]}"
    quiet = {"env": env, "check": True, "stdout": subprocess.DEVNULL}
    clone = ["git", "clone", "--quiet", "--depth", "1", f"file://{source}", str(checkout)]
    subprocess.run(clone, **quiet)  # type: ignore[call-overload]
    steps("build")
    local = f"{repo}:{sha}"
    command = [docker, "build", "-q", "--build-arg", f"GIT_SHA={sha}", "-t", local, str(checkout)]
    subprocess.run(command, **quiet)  # type: ignore[call-overload]
    steps("login")
    token = subprocess.run(
        ["aws", "ecr", "get-login-password", "--region", spec["region"]],
        env=env,
        check=True,
        capture_output=True,
    ).stdout
    login = [docker, "login", "--username", "AWS", "--password-stdin", host]
    subprocess.run(login, input=token, env=env, check=True, capture_output=True)
    steps("tag and push")
    for tag in (sha, version):
        subprocess.run([docker, "tag", local, f"{host}/{repo}:{tag}"], **quiet)  # type: ignore[call-overload]
    for tag in (sha, version):
        subprocess.run([docker, "push", "-q", f"{host}/{repo}:{tag}"], **quiet)  # type: ignore[call-overload]
    shutil.rmtree(checkout)
    steps("")


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    env = {**os.environ, "DOCKER_CONFIG": spec["config"], "DOCKER_BUILDKIT": "1"}
    steps = Steps()
    started = time.time()
    for source, repo, sha, version in spec["builds"]:
        build_and_push(spec, env, steps, (source, repo, sha, version))
    finished = time.time()
    print(json.dumps({"started": started, "finished": finished, "steps": steps.seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
