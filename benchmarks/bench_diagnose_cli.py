"""`ecrbot diagnose APP --format json` as a whole process (what CI runs on every pull request).

The app is seeded healthy (with a repository policy and a permissions boundary, so the extra
reads of issue #12 are timed too) in a moto server of the benchmark's own, with a fixed number
of IAM users holding access keys (`--key-users`, default 4: half may push to the app, half hold
no policy), so every run reads the same account. The shared test server (`--moto shared`) holds
whatever users the tests before it made, and the key-users check reads each of them. Each run
is a fresh `python -m bot` process: interpreter start, imports, client creation, the AWS reads
and the checks. The first run clones the app's git mirror and is reported apart. Floor (issue
#12): median under 1.0 s.
Run: `python -m benchmarks.bench_diagnose_cli [--runs 15] [--github] [--moto own|shared]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from tests.diagnose_seed import OWNER_ID, MotoSession, Platform, repository_id
from tests.e2e.harness import free_port, service_env, write_catalog
from tests.standins.aws_faults import AwsFaults
from tests.standins.github_api import GitHubStandIn, Repo

ACCOUNT = "123456789012"
# The ECR operations of 2025 that moto (5.2) does not serve. moto takes 0.2-0.9 s to refuse
# them (an HTML 500), which real ECR never does; answered here as an account with no creation
# templates and no managed signing answers (shapes checked against botocore's model in
# tests/unit/test_aws_standin_answers.py), so the benchmark measures ecrbot, not moto's 500s.
NOT_IN_MOTO: dict[str, dict[str, Any]] = {
    "DescribeRepositoryCreationTemplates": {
        "registryId": ACCOUNT,
        "repositoryCreationTemplates": [],
    },
    "GetSigningConfiguration": {"registryId": ACCOUNT, "signingConfiguration": {"rules": []}},
}

FLOOR_S = 1.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the median whole-process diagnose is under the floor and, with GitHub's lookups
    on, no GitHub endpoint was asked more than once per diagnose; else 1."""
    ok = figures["median_s"] < FLOOR_S and figures.get("github_max_per_endpoint", 0) <= 1
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--github", action="store_true", help="GitHub lookups on (stand-in)")
    parser.add_argument("--moto", choices=("own", "shared"), default="own")
    parser.add_argument("--key-users", type=int, default=4, help="IAM users with keys (own moto)")
    args = parser.parse_args()
    services = service_env()
    moto_url = services["AWS_ENDPOINT_URL"]
    own = None
    if args.moto == "own":
        # A process of its own, as the shared server runs (scripts/test-services).
        port = free_port()
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        own = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moto_url = f"http://127.0.0.1:{port}"
        _wait_for(moto_url)
    try:
        return _measure(args, services, moto_url)
    finally:
        if own is not None:
            own.terminate()
            own.wait(timeout=30)


def _wait_for(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=2)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _measure(args: argparse.Namespace, services: Mapping[str, str], moto_url: str) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="ecrbot-bench-cli-") as tmp,
        GitHubStandIn() as github,
        AwsFaults(moto_url) as aws,
    ):
        for operation, answer in NOT_IN_MOTO.items():
            aws.answer(operation, answer)
        root = Path(tmp)
        platform = Platform(MotoSession(moto_url), root / "apps")
        app = platform.app("bench-cli", repository_policy=True, boundary=True)
        if args.moto == "own":
            for n in range(args.key_users):
                if n % 2 == 0:
                    platform.key_user(app)
                else:
                    platform.iam.create_user(UserName=f"bench-reader-{n}")
                    platform.iam.create_access_key(UserName=f"bench-reader-{n}")
        users = len(platform.iam.list_users(MaxItems=1000)["Users"])
        print(f"moto: {args.moto}, IAM users with keys in the account: {users}")
        catalog = write_catalog(root / "ecrbot.yml", {app.name: app.catalog})
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "ECRBOT_CONFIG": str(catalog),
            "ECRBOT_WORK_DIR": str(root / "work"),
            "ECRBOT_REGISTRY_CA_BUNDLE": services["ECR_EDGE_CA_CERT"],
        }
        # An installed ecrbot has its bytecode (pip compiles it at install). With
        # PYTHONDONTWRITEBYTECODE from a developer's shell, each run would compile again every
        # module changed since bytecode was last written (all of bot/: 0.3 s of CPU); the first
        # run, reported apart, writes it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name in ("GITHUB_TOKEN", "GITHUB_API_URL"):
            env.pop(name, None)  # the default subject is assumed: no network beyond moto
        if args.github:
            github.repo(app.github, Repo(id=repository_id(app.name), owner_id=OWNER_ID))
            env["GITHUB_TOKEN"] = github.token("ghp_bench")
            env["GITHUB_API_URL"] = github.url
        command = [sys.executable, "-m", "bot", "diagnose", app.name, "--format", "json"]
        walls, cpus, checks = [], [], 0
        for _ in range(args.runs + 1):
            cpu_before, started = _children_cpu(), time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - started)
            cpus.append(_children_cpu() - cpu_before)
            if done.returncode not in (0, 1):
                print(done.stderr, file=sys.stderr)
                return 2
            checks = len(json.loads(done.stdout)["checks"])
        github_calls = len(github.state.requests)
        per_endpoint = Counter(path for path, _ in github.state.requests)
    first, warm, warm_cpu = walls[0], walls[1:], cpus[1:]
    if args.github:
        print(f"GitHub API requests per diagnose: {github_calls / (args.runs + 1):.1f}")
    median = statistics.median(warm)
    print(f"checks: {checks}; first run (clones the git mirror): {first:.3f} s")
    print(
        f"runs: {len(warm)}, median {median:.3f} s (CPU {statistics.median(warm_cpu):.3f} s), "
        f"min {min(warm):.3f} s, max {max(warm):.3f} s"
    )
    figures = {"median_s": median}
    if args.github:
        most = max(per_endpoint.values(), default=0) / (args.runs + 1)
        print(f"most requests of one GitHub endpoint per diagnose: {most:.1f} (floor: 1)")
        figures["github_max_per_endpoint"] = most
    failed = verdict(figures)
    print(f"{'FAIL' if failed else 'PASS'}: median {median:.3f} s (floor: under {FLOOR_S} s)")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
