"""The scaled-out backend (issue #10): Celery workers on Redis, jobs in PostgreSQL.

- scale: 20 small pushes of 20 apps (each a new build), one worker vs two, each worker
  building one at a time; from the first command to the last job's end. Floor: two ≤ 0.6 x one,
  for two build hosts (issue #19): two workers on one engine share the build itself, which is
  the bottleneck, so on one machine it runs only when asked (`--only scale`) and what is judged
  there is the queue's cost against two runbook processes (`bench_queue_cost`).
- overhead: from sending `/ecr push` to the job starting on an idle worker (its `started_at`),
  20 pushes one after another. Floor: p95 under 300 ms. Measured from the request, not from
  the acknowledgement: the job often starts before the ack is back at the sender, so a wait
  from the ack is negative, and clamping it to 0 made the headline look better than it is.
- reports: 3 replicas' schedulers (separate processes) firing every second on one database
  for 10 fire times. Floor: exactly 10 reports.

Run: `python -m benchmarks.bench_fleet [--only overhead,reports,scale] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import percentile, world
from tests.databases import database
from tests.e2e.harness import ALICE, ROOT
from tests.e2e.world import World, assert_succeeded, job_id

APPS = 20
SCHEDULER = [sys.executable, "-m", "benchmarks.fleet_scheduler"]


def _apps(w: World, count: int) -> list[tuple[str, str]]:
    """`count` apps of one source, each its own repository and commit (a new layer each)."""
    pairs = []
    for n in range(count):
        name = f"{w.app}-{n}"
        sha = w.sample.commit(
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n", f"app {n}"
        )
        w.apps[name] = dict(w.apps[w.app])
        w.create_repository(immutable=False, name=name)
        pairs.append((name, sha))
    return pairs


def scale_round(workers: int) -> float:
    with world("celery") as w:
        apps = _apps(w, APPS)
        w.start_bot()
        for n in range(2, workers + 1):
            w.start_worker(f"w{n}")
        assert w.sender is not None
        started = time.monotonic()
        jobs = []
        for name, sha in apps:
            jobs.append(job_id(w.sender.slash_command(f"push {name} {sha[:7]}", user_id=ALICE)))
        for job in jobs:
            assert_succeeded(w.wait_finished(job, timeout=300))
        took = time.monotonic() - started
        rows = w.jobs()
        used = {row["worker"] for row in rows}
        steps: dict[str, float] = {}
        for row in rows:
            for step, seconds in json.loads(row["steps"] or "{}").items():
                steps[step] = steps.get(step, 0.0) + seconds / len(rows)
        busy = sum((r["finished_at"] - r["started_at"]).total_seconds() for r in rows) / len(rows)
    shown = ", ".join(f"{step} {seconds:.2f}" for step, seconds in steps.items())
    print(
        f"  {workers} worker(s): {took:.1f} s for {APPS} pushes (workers used: {sorted(used)}); "
        f"per job {busy:.2f} s: {shown}"
    )
    return took


def overhead(pushes: int = 20) -> tuple[list[float], list[float]]:
    """(from the request, from the ack) to each job's start; the second may be negative."""
    with world("celery") as w:
        apps = _apps(w, pushes)
        w.start_bot()
        assert w.sender is not None
        from_ack: list[float] = []
        from_request: list[float] = []
        for name, sha in apps:
            sent = datetime.now(UTC)
            answer = w.sender.slash_command(f"push {name} {sha[:7]}", user_id=ALICE)
            acked = datetime.now(UTC)
            job = job_id(answer)
            assert_succeeded(w.wait_finished(job, timeout=120))
            row = next(row for row in w.jobs() if row["id"] == job)
            from_request.append((row["started_at"] - sent).total_seconds())
            from_ack.append((row["started_at"] - acked).total_seconds())
    return from_request, from_ack


def reports(replicas: int = 3, fire_times: int = 10) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as url:
        out = Path(tmp) / "posted.txt"
        out.touch()
        # Start them on a second boundary + 0.5 s so that exactly `fire_times` seconds tick.
        time.sleep(1.5 - (time.time() % 1.0))
        procs = [
            subprocess.Popen(
                [*SCHEDULER, url, str(out), str(fire_times), f"replica-{n}"],
                cwd=ROOT,
            )
            for n in range(replicas)
        ]
        for proc in procs:
            proc.wait(fire_times + 30)
        posted = len(out.read_text().splitlines())
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            claimed = conn.execute(sa.text("SELECT count(*) FROM report_fires")).scalar_one()
        engine.dispose()
    return posted, int(claimed)


SCALE_FLOOR = 0.6  # two workers' time over one worker's
OVERHEAD_FLOOR_S = 0.3  # p95 from the request to the job's start
REPORTS = 10  # fire times: exactly this many reports posted and claimed


def verdict(figures: Mapping[str, float]) -> int:
    """0 when every part that was measured meets its floor (and one was measured), else 1."""
    checks = []
    if "scale_ratio" in figures:
        checks.append(figures["scale_ratio"] <= SCALE_FLOOR)
    if "overhead_p95_s" in figures:
        checks.append(figures["overhead_p95_s"] < OVERHEAD_FLOOR_S)
    if "reports_posted" in figures:
        checks.append(figures["reports_posted"] == figures["reports_claimed"] == REPORTS)
    return 0 if checks and all(checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    # scale: for two build hosts (see above); on one engine, bench_queue_cost instead.
    parser.add_argument("--only", default="overhead,reports")
    parser.add_argument("--rounds", type=int, default=2, help="alternating 1- and 2-worker runs")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    figures: dict[str, float] = {}
    if "scale" in parts:
        one, two = [], []
        for _ in range(args.rounds):
            one.append(scale_round(1))
            two.append(scale_round(2))
        ratio = statistics.median(two) / statistics.median(one)
        figures["scale_ratio"] = ratio
        good = not verdict({"scale_ratio": ratio})
        print(
            f"{'PASS' if good else 'FAIL'}: scale: one worker {statistics.median(one):.1f} s, "
            f"two {statistics.median(two):.1f} s (medians): ratio {ratio:.2f} (floor: ≤ 0.6)"
        )
    if "overhead" in parts:
        from_request, from_ack = overhead()
        p95 = percentile(from_request, 95)
        figures["overhead_p95_s"] = p95
        good = not verdict({"overhead_p95_s": p95})
        print(
            f"{'PASS' if good else 'FAIL'}: queue overhead, request to start on an idle worker: "
            f"median {statistics.median(from_request) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {max(from_request) * 1000:.0f} ms over {len(from_request)} "
            f"(floor: p95 under 300 ms); from the ack (negative: started before the ack "
            f"was back): median {statistics.median(from_ack) * 1000:.0f} ms, "
            f"p95 {percentile(from_ack, 95) * 1000:.0f} ms"
        )
    if "reports" in parts:
        posted, claimed = reports()
        figures.update(reports_posted=posted, reports_claimed=claimed)
        good = not verdict({"reports_posted": posted, "reports_claimed": claimed})
        print(
            f"{'PASS' if good else 'FAIL'}: report dedupe, 3 replicas x 10 fire times: "
            f"{posted} reports posted, {claimed} fire times claimed (floor: exactly 10)"
        )
    return verdict(figures)


if __name__ == "__main__":
    raise SystemExit(main())
