"""Repeat push of an already-pushed SHA, end to end through Slack: no build, no layer upload.

Measured from the signed `/ecr push` request to the final thread reply reaching Slack.
Floor (issue #2): under 2 s. Run: `python -m benchmarks.bench_repeat [--runs 10]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping

from benchmarks.common import summary, world
from tests.e2e.world import assert_succeeded, text_of


def verdict(figures: Mapping[str, float]) -> int:
    """0 when every repeat push took under 2 s, built and pushed nothing, and left ECR as it
    was; else 1."""
    ok = (
        figures["slowest_s"] < 2.0
        and figures["skipped"] == figures["runs"] > 0
        and figures["registry_unchanged"] == 1
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with world() as w:
        w.create_repository()
        w.start_bot()
        sha = w.sample.shas[0]
        assert_succeeded(w.wait_finished(w.push(sha, "1.0.0")))
        images_before = w.ecr.describe_images(repositoryName=w.app)["imageDetails"]
        timings, skipped = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            job = w.push(sha, "1.0.0")
            parent = w.wait_finished(job, timeout=30)
            timings.append(time.perf_counter() - started)
            skipped += "no build, no push" in text_of(parent)
        images_after = w.ecr.describe_images(repositoryName=w.app)["imageDetails"]
    unchanged = images_before == images_after
    print(f"repeat push, request to final Slack reply: {summary(timings)}")
    print(
        f"runs that skipped build and push: {skipped}/{args.runs}; registry unchanged: {unchanged}"
    )
    failed = verdict(
        {
            "slowest_s": max(timings),
            "skipped": skipped,
            "runs": args.runs,
            "registry_unchanged": int(unchanged),
        }
    )
    print(
        f"{'FAIL' if failed else 'PASS'}: max {max(timings):.2f} s "
        "(floor: under 2 s, no build/push)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
