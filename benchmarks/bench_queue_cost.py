"""The queue's cost (issue #19): the same 20 builds by two plain runbook processes in parallel
against two `ecrbot worker`s, side by side on one engine.

Two workers on one engine can't get near half of one worker's time here: the build itself (one
Docker engine, two cores) is the bottleneck. So the figure is what the queue costs against the
best this machine does without it: two people running the runbook at once.

- runbook: two processes (`benchmarks/runbook.py`), 10 builds each one after another: `git clone`,
  `docker build --build-arg GIT_SHA` (BuildKit, the docker CLI ecrbot uses), `aws ecr
  get-login-password | docker login`, tag the SHA and the version, push both. From the first
  process's first step to the last one's last push.
- ecrbot: the `celery` backend, a bot replica and two `ecrbot worker`s (one build at a time
  each) on Redis and PostgreSQL; 20 `/ecr push APP SHA VERSION` sent through signed HTTP like
  Slack, one after another. From sending the first to the last job's end (`finished_at`).

Like with like: 20 apps per side, each its own git repository and ECR repository (same
Dockerfile, busybox and a file that differs per app), a new commit of every app in every round;
BuildKit on both sides; same engine, registry (its TLS edge, moto) and machine. A warm-up round
on both sides is not timed (first builds, the workers' first jobs and git mirrors). Rounds
alternate which side goes first. Floor: ecrbot's median ≤ 1.10 x the runbook's median.

Run: `python -m benchmarks.bench_queue_cost [--rounds 3]` (needs the test services).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import world
from bot.adapters.buildkit import BuildKitCli
from tests.e2e.harness import ALICE, APP_TEAM_GROUP, REGION, ROOT, SampleApp, service_env
from tests.e2e.world import FINAL_STATES, World, assert_succeeded, job_id

APPS = 20
FLOOR = 1.10  # ecrbot's median over the runbook's median
DOCKERFILE = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\nARG GIT_SHA\n"


def verdict(figures: Mapping[str, float]) -> int:
    """0 when ecrbot's median is within the floor of the two runbook processes', else 1."""
    return 0 if figures["ecrbot_s"] / figures["runbook_s"] <= FLOOR else 1


class Sides:
    """20 apps for each side (source and ECR repository), and both ways of building them all."""

    def __init__(self, w: World) -> None:
        self.w = w
        busybox = Path(w.env["BUSYBOX_STATIC"])
        self.ecrbot: list[tuple[str, SampleApp]] = []
        self.runbook: list[tuple[str, SampleApp]] = []
        for n in range(APPS):
            for side, into in (("ecrbot", self.ecrbot), ("runbook", self.runbook)):
                name = f"{w.app}-{side[0]}{n}"
                app = SampleApp.create(w.tmp / "src" / name, busybox)
                w.create_repository(immutable=False, name=name)
                into.append((name, app))
            w.apps[self.ecrbot[-1][0]] = {
                "source": str(self.ecrbot[-1][1].path),
                "pushers": [APP_TEAM_GROUP],
            }
        self.docker = BuildKitCli().cli().path  # the CLI ecrbot builds with, for both sides
        self.round = 0

    def commits(self, apps: list[tuple[str, SampleApp]]) -> list[tuple[str, str, str]]:
        """A new commit of every app: (name, SHA, version)."""
        self.round += 1
        return [
            (name, app.commit(DOCKERFILE, f"round {self.round}"), f"1.0.{self.round}")
            for name, app in apps
        ]

    def run_ecrbot(self) -> float:
        sender = self.w.sender
        assert sender is not None
        builds = self.commits(self.ecrbot)
        sent = datetime.now(UTC)
        jobs = [
            job_id(sender.slash_command(f"push {name} {sha} {version}", user_id=ALICE))
            for name, sha, version in builds
        ]
        rows = self._wait_final(set(jobs))
        took: float = (max(row["finished_at"] for row in rows) - sent).total_seconds()
        for job in jobs:  # every reply posted before the other side starts (not timed)
            assert_succeeded(self.w.wait_finished(job, timeout=120))
        workers = sorted({row["worker"] for row in rows})
        steps: dict[str, float] = {}
        for row in rows:
            for step, seconds in json.loads(row["steps"] or "{}").items():
                steps[step] = steps.get(step, 0.0) + seconds / len(rows)
        busy = sum((r["finished_at"] - r["started_at"]).total_seconds() for r in rows) / len(rows)
        waited = [(r["started_at"] - r["created_at"]).total_seconds() for r in rows]
        shown = ", ".join(f"{step} {seconds:.2f}" for step, seconds in steps.items())
        print(
            f"  ecrbot:  {took:.2f} s for {APPS} pushes on {workers}; per job {busy:.2f} s "
            f"from start to end ({shown}); created to started: median "
            f"{statistics.median(waited):.2f} s",
            flush=True,
        )
        return took

    def _wait_final(self, jobs: set[int], timeout: float = 600.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [row for row in self.w.jobs() if row["id"] in jobs]
            if len(rows) == len(jobs) and all(row["state"] in FINAL_STATES for row in rows):
                return rows
            time.sleep(0.2)
        raise AssertionError(f"jobs {sorted(jobs)} did not finish in {timeout} s")

    def run_runbook(self) -> float:
        builds = self.commits(self.runbook)
        paths = dict(self.runbook)
        procs: list[subprocess.Popen[bytes]] = []
        for half in (builds[0::2], builds[1::2]):
            index = len(procs)
            config = self.w.tmp / f"docker-config-{index}"
            config.mkdir(exist_ok=True)
            spec = {
                "docker": self.docker,
                "host": self.w.env["ECR_HOST"],
                "region": REGION,
                "config": str(config),
                "scratch": str(self.w.tmp),
                "builds": [[str(paths[name].path), name, sha, ver] for name, sha, ver in half],
            }
            spec_file = self.w.tmp / f"runbook-{index}.json"
            spec_file.write_text(json.dumps(spec))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.runbook", str(spec_file)],
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    stdout=subprocess.PIPE,
                )
            )
        marks = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            if proc.returncode:
                raise RuntimeError(f"a runbook process failed ({proc.returncode})")
            marks.append(json.loads(out))
        took: float = max(m["finished"] for m in marks) - min(m["started"] for m in marks)
        each = ", ".join(f"{m['finished'] - m['started']:.2f}" for m in marks)
        steps = {
            step: sum(m["steps"].get(step, 0.0) for m in marks) / APPS for step in marks[0]["steps"]
        }
        shown = ", ".join(f"{step} {seconds:.2f}" for step, seconds in steps.items())
        print(
            f"  runbook: {took:.2f} s for {APPS} builds (each process: {each} s); "
            f"per build: {shown}",
            flush=True,
        )
        return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # The runbook's `aws` and `docker` find the test services as an app team's would find AWS.
    env = service_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AWS_", "DOCKER_"))})
    timings: dict[str, list[float]] = {"runbook": [], "ecrbot": []}
    loads = []
    with world("celery") as w:
        sides = Sides(w)
        w.start_bot()
        w.start_worker("w2")
        print(f"warm-up (not timed), load average {os.getloadavg()[0]:.1f}", flush=True)
        sides.run_runbook()
        sides.run_ecrbot()
        for index in range(args.rounds):
            order = ["ecrbot", "runbook"] if index % 2 else ["runbook", "ecrbot"]
            loads.append(os.getloadavg()[0])
            print(f"round {index + 1}, load average {loads[-1]:.1f}", flush=True)
            for side in order:
                run = sides.run_ecrbot if side == "ecrbot" else sides.run_runbook
                timings[side].append(run())
    runbook_s, ecrbot_s = (statistics.median(timings[k]) for k in ("runbook", "ecrbot"))
    ratio = ecrbot_s / runbook_s
    pairs = [round(e / r, 3) for e, r in zip(timings["ecrbot"], timings["runbook"], strict=True)]
    for side, label in (("runbook", "runbook, 2 processes"), ("ecrbot", "ecrbot, 2 workers")):
        shown = [round(t, 2) for t in timings[side]]
        print(f"{label}: median {statistics.median(timings[side]):.2f} s  {shown}")
    print(f"each round's ratio: {pairs}; load average at the rounds' starts: {loads}")
    failed = verdict({"runbook_s": runbook_s, "ecrbot_s": ecrbot_s})
    print(f"{'FAIL' if failed else 'PASS'}: ratio of medians {ratio:.3f} (floor: ≤ {FLOOR:.2f})")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
