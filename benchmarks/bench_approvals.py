"""From the Approve click to the copy starting (issue #16), end to end through Slack.

A promotion to an environment with approvers is asked with `/ecr promote`; Bob (a release lead,
not the requester) clicks Approve on the request in the thread; the time is from sending the
signed click to the thread's "Copying by digest" reply reaching the Slack stand-in. Each run
promotes a new version (a new commit pushed first) into its own environment repository, so each
one really copies. Floor: p95 under 1 s. Run: `python -m benchmarks.bench_approvals [--runs 10]`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping

from benchmarks.common import percentile, world
from tests.e2e.harness import ALICE
from tests.e2e.test_approvals import BOB, RELEASE_LEADS, approval_message, approved_to_copy
from tests.e2e.world import assert_succeeded

FLOOR_S = 1.0


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the p95 from the click to the copy's start is under 1 s and every run copied."""
    ok = figures["p95_s"] < FLOOR_S and figures["copied"] == figures["runs"] > 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with world() as w:
        w.create_repository(immutable=False)
        targets = [f"{w.app}-env{n}" for n in range(args.runs)]
        for name in targets:
            w.create_repository(name=name)
        w.slack.set_usergroup(RELEASE_LEADS, [ALICE, BOB])
        w.apps[w.app]["environments"] = [
            {"name": f"env{n}", "registry": "home", "repository": name,
             "approvers": [RELEASE_LEADS]}
            for n, name in enumerate(targets)
        ]  # fmt: skip
        w.start_bot()
        assert_succeeded(w.wait_finished(w.push(w.sample.shas[0], "1.0.0")))
        seen: set[str] = set()
        timings, copied = [], 0
        for n in range(args.runs):
            # env0 is promoted from home, each next one from the one before: the same digest.
            w.slash(f"promote {w.app} 1.0.0 env{n}")
            took, thread = approved_to_copy(w, approval_message(w, seen))
            timings.append(took)
            copied += thread[-1].startswith(":white_check_mark: Promoted")
    p95 = percentile(timings, 95)
    print(
        f"Approve click to the copy's start, {args.runs} runs: median "
        f"{statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
        f"{max(timings) * 1000:.0f} ms; copied {copied}/{args.runs}"
    )
    failed = verdict({"p95_s": p95, "copied": copied, "runs": args.runs})
    print(f"{'FAIL' if failed else 'PASS'}: p95 {p95 * 1000:.0f} ms (floor: under 1 s)")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
