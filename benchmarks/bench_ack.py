"""Slash-command acknowledgement latency with 50 signed `/ecr push` requests in flight at once.

Floor (issue #2): p99 under 300 ms. Run: `python -m benchmarks.bench_ack [--total 200]`.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import percentile, summary, world


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--total", type=int, default=200)
    args = parser.parse_args()
    with world() as w:
        w.create_repository()
        w.start_bot()
        assert w.sender is not None
        sender = w.sender
        text = f"push {w.app} {w.sample.shas[0][:7]}"

        def one(_: int) -> tuple[float, int]:
            started = time.perf_counter()
            response = sender.slash_command(text)
            return time.perf_counter() - started, response.status_code

        sender.slash_command(text)  # warm-up: first request opens the database, etc.
        with ThreadPoolExecutor(max_workers=args.in_flight) as pool:
            results = list(pool.map(one, range(args.total)))
    latencies = [seconds for seconds, _ in results]
    failures = sum(1 for _, status in results if status != 200)
    p99 = percentile(latencies, 99)
    print(f"ack latency, {args.in_flight} in flight: {summary(latencies)}; non-200: {failures}")
    verdict = "PASS" if p99 < 0.300 and failures == 0 else "FAIL"
    print(f"{verdict}: p99 {p99 * 1000:.0f} ms (floor: under 300 ms, no errors)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
