"""Slash-command acknowledgement latency: the bot against a minimal Bolt app served the same way.

Both are gunicorn, one process, gthread with ECRBOT_HTTP_THREADS threads, Bolt's WSGI adapter,
signatures verified. The load comes from a separate process (its own GIL): 50 signed `/ecr push`
requests in flight, 200 per round, rounds alternating between the two servers. Each round starts
once the bot has worked off the jobs of the last one, so neither server is measured while the
other's backlog runs.

Before each round the machine is let go quiet (85 % idle over half a second): the bot's
drained jobs leave git, dockerd and the registry busy for a moment.

- cold (issue #19): the first 200 requests after a start. Both processes are started afresh
  the same way, and the load begins the moment each says it is ready (the bot's /readyz on the
  ops port, which a load balancer waits for; the minimal app's only probe, /healthz), with no
  warm-up request. `--cold-rounds` restarts of each (8 by default: the p99 of 3 rounds of 200,
  the 6th slowest of 600, moved by 0.3x in the ratio from run to run), alternating who goes
  first.
- warm: `--rounds` rounds on the running processes, after 3 warm-up requests each.

Floors, on the cold and the warm rounds each: p99 under 300 ms (issue #2), and the bot's p99
within 1.3x the minimal app's (issue #19; it was 1.5x, issue #9).
Run: `python -m benchmarks.bench_ack [--rounds 3] [--cold-rounds 8] [--total 200]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.common import percentile, summary, world
from tests.e2e.harness import ROOT, SIGNING_SECRET, free_port
from tests.e2e.world import job_id
from tests.standins.slack_client import SlackSender

RATIO_FLOOR = 1.3  # the bot's p99 over the minimal app's, cold and warm
P99_FLOOR_S = 0.300


def load(
    url: str, secret: str, text: str, user: str, in_flight: int, total: int, warm: bool = True
) -> list[tuple[float, int]]:
    """Send `total` signed slash commands, `in_flight` at a time; (seconds, status) each. A cold
    round sends no warm-up request: its first requests are the server's first."""
    sender = SlackSender(url, secret)

    def one(_: int) -> tuple[float, int]:
        started = time.perf_counter()
        response = sender.slash_command(text, user_id=user)
        return time.perf_counter() - started, response.status_code

    for _ in range(3 if warm else 0):
        one(0)  # warm-up: connections, the database, the user group cache
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        return list(pool.map(one, range(total)))


def settle(bot_url: str, timeout: float = 300.0) -> None:
    """Wait until the bot has no job queued or running and no Slack call waiting to be sent,
    so each round starts on a quiet machine: the backlog of one round must not slow the next.
    (The Slack calls were left out until issue #19: a warm round's bot still posted the last
    round's 200 threads while it acknowledged, and a restart flushes them, so warm rounds were
    measured against a backlog that cold rounds never had.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = 0.0
        for family in text_string_to_metric_families(
            requests.get(f"{bot_url}/metrics", timeout=10).text
        ):
            for sample in family.samples:
                if sample.name in ("ecrbot_queue_depth", "ecrbot_slack_outbox_pending") or (
                    sample.name == "ecrbot_jobs" and sample.labels.get("state") == "running"
                ):
                    busy += sample.value
        if busy == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("the bot's queue did not drain")


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine since boot (/proc/stat's first line)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def machine_quiet(idle: float = 0.85, window_s: float = 0.5, timeout: float = 60.0) -> float:
    """Wait until the machine's CPUs were at least `idle` idle over the last `window_s` (or
    `timeout`); returns that share. A round follows the settling of the one before: the bot's
    drained jobs leave git, dockerd and the registry busy for a moment after its queue is empty,
    and the next round, either side's, paid for it (rounds after one of ecrbot's had a higher
    p99 on both sides)."""
    deadline = time.monotonic() + timeout
    share = 0.0
    while time.monotonic() < deadline:
        idle_0, total_0 = cpu_times()
        time.sleep(window_s)
        idle_1, total_1 = cpu_times()
        share = (idle_1 - idle_0) / max(1, total_1 - total_0)
        if share >= idle:
            break
    return share


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Until `url` answers 200: what a load balancer waits for before it sends traffic."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 in {timeout:.0f} s")


def minimal_bolt(port: int, api_url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.minimal_bolt", str(port), SIGNING_SECRET, api_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,  # gunicorn's worker is a child: stopped with its group
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", 30)
    except RuntimeError:
        stop(proc)
        raise
    return proc


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes in group `pgid`: both servers are
    session leaders, with gunicorn's worker in their group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command sits in parentheses and may hold spaces: fields count after its ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone since the listing
        if int(fields[2]) == pgid:  # pgrp; utime and stime follow at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """The minimal app's whole process group: a worker left behind would hold the port."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def verdict(figures: Mapping[str, float]) -> int:
    """0 when, cold and warm, p99 < 300 ms and within 1.3x the minimal Bolt app's p99, and no
    request failed; else 1."""
    ok = figures["failures"] == 0
    for prefix in ("", "cold_"):
        p99, base = figures[f"{prefix}p99_s"], figures[f"{prefix}baseline_p99_s"]
        ok = ok and p99 < P99_FLOOR_S and p99 / base <= RATIO_FLOOR
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--total", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-rounds", type=int, default=8, help="restarts of each side")
    parser.add_argument("--command", default="push", help="push (the floor), or help/jobs")
    parser.add_argument("--user", default="U0ALICE")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the bot")
    args = parser.parse_args()
    seen: dict[str, dict[str, list[float]]] = {
        phase: {"ecrbot": [], "minimal": []} for phase in ("cold", "warm")
    }
    p99s: dict[str, dict[str, list[float]]] = {
        phase: {"ecrbot": [], "minimal": []} for phase in ("cold", "warm")
    }
    # CPU per request while the round ran (the server's process group): p99 at 50 in flight is
    # mostly queueing, so it follows what each request costs the one process.
    cpu_ms: dict[str, dict[str, list[float]]] = {
        phase: {"ecrbot": [], "minimal": []} for phase in ("cold", "warm")
    }
    failures = 0
    loads = []
    with world() as w:
        w.create_repository()
        # Room for every request of the run: queue bounds would turn pushes into refusals.
        w.catalog_slack = {"limits": {"queued": 100_000, "queued_per_app": 10_000}}
        bot = w.start_bot(**dict(kv.split("=", 1) for kv in args.env))
        text = f"push {w.app} {w.sample.shas[0][:7]}" if args.command == "push" else args.command
        baseline_port = free_port()
        urls = {"ecrbot": bot.url, "minimal": f"http://127.0.0.1:{baseline_port}"}
        baseline = [minimal_bolt(baseline_port, w.slack.api_url)]
        # The app's first build, not timed: no round has it behind its acks, the others don't.
        if args.command == "push":
            first = SlackSender(bot.url, SIGNING_SECRET).slash_command(text, user_id=args.user)
            w.wait_finished(job_id(first), timeout=300)

        def restart(side: str) -> None:
            """A fresh process of `side`, back once it says it is ready for traffic."""
            if side == "ecrbot":
                bot.stop()
                bot.start()
                wait_ready(f"{bot.ops_url}/readyz")
            else:
                stop(baseline[0])
                baseline[0] = minimal_bolt(baseline_port, w.slack.api_url)

        try:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(1) as pool:
                rounds = [("cold", n) for n in range(args.cold_rounds)]
                rounds += [("warm", n) for n in range(args.rounds)]
                for phase, index in rounds:
                    loads.append(os.getloadavg()[0])
                    for side in ("ecrbot", "minimal") if index % 2 else ("minimal", "ecrbot"):
                        settle(bot.ops_url)  # the bot's backlog is done before either starts
                        machine_quiet()  # and what it left running (git, dockerd) too
                        if phase == "cold":
                            restart(side)  # the load starts the moment it says it is ready
                        pgid = bot.proc.pid if side == "ecrbot" and bot.proc else baseline[0].pid
                        cpu_before = group_cpu_s(pgid)
                        results = pool.apply(
                            load,
                            (
                                urls[side],
                                SIGNING_SECRET,
                                text,
                                args.user,
                                args.in_flight,
                                args.total,
                                phase == "warm",
                            ),
                        )
                        cpu_ms[phase][side].append(
                            (group_cpu_s(pgid) - cpu_before) * 1000 / len(results)
                        )
                        took = [seconds for seconds, _ in results]
                        seen[phase][side] += took
                        p99s[phase][side].append(percentile(took, 99))
                        print(
                            f"  {phase} round: {side:7} p50 {statistics.median(took) * 1000:.0f} "
                            f"ms p99 {percentile(took, 99) * 1000:.0f} ms, CPU "
                            f"{cpu_ms[phase][side][-1]:.1f} ms a request during the round "
                            f"(load average {loads[-1]:.1f})",
                            flush=True,
                        )
                        failures += sum(1 for _, status in results if status != 200)
        finally:
            stop(baseline[0])
    figures: dict[str, float] = {"failures": failures}
    for phase, prefix in (("cold", "cold_"), ("warm", "")):
        ours, base = seen[phase]["ecrbot"], seen[phase]["minimal"]
        p99, base_p99 = percentile(ours, 99), percentile(base, 99)
        figures.update({f"{prefix}p99_s": p99, f"{prefix}baseline_p99_s": base_p99})
        print(f"{phase}: ecrbot `/ecr {args.command}`, {args.in_flight} in flight: {summary(ours)}")
        print(f"{phase}: minimal Bolt app, same serving: {summary(base)}")
        print(
            f"{phase}: p50 {statistics.median(ours) * 1000:.0f} vs "
            f"{statistics.median(base) * 1000:.0f} ms; p99 {p99 * 1000:.0f} vs "
            f"{base_p99 * 1000:.0f} ms: {p99 / base_p99:.2f}x (floor: {RATIO_FLOOR}x; "
            f"p99 under {P99_FLOOR_S * 1000:.0f} ms)"
        )
        # Not the floor, but less moved by one noisy round on a shared machine: each round's
        # p99 ratio, the two sides measured back to back.
        paired = [e / m for e, m in zip(p99s[phase]["ecrbot"], p99s[phase]["minimal"], strict=True)]
        print(
            f"{phase}: each round's p99 ratio {[round(r, 2) for r in paired]}, "
            f"median {statistics.median(paired):.2f}"
        )
        print(
            f"{phase}: CPU a request during the rounds, median: ecrbot "
            f"{statistics.median(cpu_ms[phase]['ecrbot']):.1f} ms, minimal "
            f"{statistics.median(cpu_ms[phase]['minimal']):.1f} ms"
        )
    print(f"non-200: {failures}; load average at the rounds' starts: {loads}")
    failed = verdict(figures)
    print(f"{'FAIL' if failed else 'PASS'}: cold and warm, p99 and its ratio, errors")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
