"""Load (issue #9): 200 signed commands in 10 s, pushes, diagnoses, job lists and help mixed,
with a fifth of the pushes retried as Slack retries. Floors: every command acknowledged within
Slack's 3 s, no duplicate job, a full queue refused at once, memory bounded (< 150 MB growth).
Run: `python -m benchmarks.bench_load [--total 200] [--seconds 10]`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping

from benchmarks.common import percentile, world
from tests.e2e.load import burst, commands
from tests.e2e.test_load import rss


def verdict(figures: Mapping[str, float]) -> int:
    """0 when every ack < 3 s and was a 200, no duplicate job, the queue bound refused some
    pushes (the burst must reach it) and memory grew under 150 MB; else 1."""
    ok = (
        figures["slowest_ack_s"] < 3.0
        and figures["non_200"] == 0
        and figures["duplicates"] == 0
        and figures["queue_full_refusals"] > 0
        and figures["growth_mb"] < 150
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with world() as w:
        w.create_repository(immutable=False)
        w.start_bot()
        assert w.sender is not None
        before = rss(w)
        sent = burst(w.sender, commands(w.app, w.sample.shas[0], args.total), args.seconds)
        grown_mb = (rss(w) - before) / 1e6
        keys = [job["request_key"] for job in w.jobs()]
    for kind in sorted({s.kind for s in sent.sent}):
        took = [s.seconds for s in sent.of(kind)]
        print(
            f"{kind:11} n={len(took):3} p50={statistics.median(took) * 1000:5.0f} ms "
            f"p99={percentile(took, 99) * 1000:5.0f} ms max={max(took) * 1000:5.0f} ms"
        )
    every = [s.seconds for s in sent.sent]
    print(
        f"all         n={len(every)} p50={statistics.median(every) * 1000:.0f} ms "
        f"p99={percentile(every, 99) * 1000:.0f} ms max={max(every) * 1000:.0f} ms"
    )
    print("outcomes:", dict(sent.outcomes()))
    duplicates = len(keys) - len(set(keys))
    print(f"jobs {len(keys)}, duplicates {duplicates}, memory growth {grown_mb:.0f} MB")
    failed = verdict(
        {
            "slowest_ack_s": max(every),
            "non_200": sum(1 for s in sent.sent if s.status != 200),
            "duplicates": duplicates,
            "queue_full_refusals": sent.outcomes()["refused: queue full"],
            "growth_mb": grown_mb,
        }
    )
    print(
        f"{'FAIL' if failed else 'PASS'}: slowest ack {max(every) * 1000:.0f} ms (floor 3000), "
        f"{duplicates} duplicate jobs, {sent.outcomes()['refused: queue full']} queue-full "
        f"refusals, {grown_mb:.0f} MB growth (floor 150)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
