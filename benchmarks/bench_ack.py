"""Slash-command acknowledgement latency with 50 signed `/ecr push` requests in flight at once.

The load comes from a separate process (its own GIL), so the Slack stand-in's work in this
process does not slow the measuring clients. Floor (issue #2): p99 under 300 ms.
Run: `python -m benchmarks.bench_ack [--total 200] [--command help] [--user U0MALLORY]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import percentile, summary, world
from tests.standins.slack_client import SlackSender


def load(
    url: str, secret: str, text: str, user: str, in_flight: int, total: int
) -> list[tuple[float, int]]:
    """Send `total` signed slash commands, `in_flight` at a time; (seconds, status) each."""
    sender = SlackSender(url, secret)

    def one(_: int) -> tuple[float, int]:
        started = time.perf_counter()
        response = sender.slash_command(text, user_id=user)
        return time.perf_counter() - started, response.status_code

    one(0)  # warm-up: the first request opens the database, fetches the user group, etc.
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        return list(pool.map(one, range(total)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--total", type=int, default=200)
    parser.add_argument("--command", default="push", help="push (the floor), or help/jobs")
    parser.add_argument("--user", default="U0ALICE")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the bot")
    args = parser.parse_args()
    with world() as w:
        w.create_repository()
        bot = w.start_bot(**dict(kv.split("=", 1) for kv in args.env))
        text = f"push {w.app} {w.sample.shas[0][:7]}" if args.command == "push" else args.command
        from tests.e2e.harness import SIGNING_SECRET

        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            results = pool.apply(
                load, (bot.url, SIGNING_SECRET, text, args.user, args.in_flight, args.total)
            )
    latencies = [seconds for seconds, _ in results]
    failures = sum(1 for _, status in results if status != 200)
    p99 = percentile(latencies, 99)
    print(
        f"ack latency `/ecr {args.command}`, {args.in_flight} in flight: {summary(latencies)}; "
        f"non-200: {failures}"
    )
    verdict = "PASS" if p99 < 0.300 and failures == 0 else "FAIL"
    print(f"{verdict}: p99 {p99 * 1000:.0f} ms (floor: under 300 ms, no errors)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
