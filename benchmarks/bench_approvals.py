"""From the Approve click to the copy starting (issue #16), end to end through Slack.

A promotion to an environment with approvers is asked with `/ecr promote`; Bob (a release lead,
not the requester) clicks Approve on the request in the thread; the time is from sending the
signed click to the thread's "Copying by digest" reply reaching the Slack stand-in. Each run
promotes a new version (a new commit pushed first) into its own environment repository, so each
one really copies. Floor: p95 under 1 s.

Then the already-there round, "< 1 s from the request to the final message": `/ecr promote` to
an environment without approvers whose repository already holds the digest (promoted there
once first), timed from sending the signed request to the final "Already in ENV: same digest"
message. That message is the acknowledgement itself (the HTTP answer Slack shows) when the two
digest reads finish within the acknowledgement's wait (1.5 s); else it is the thread's last
reply, taken from the Slack stand-in's record. Floor: p95 under 1 s.
Run: `python -m benchmarks.bench_approvals [--runs 10] [--already 10]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Mapping

from benchmarks.common import percentile, world
from tests.e2e.harness import ALICE, wait_until
from tests.e2e.test_approvals import BOB, RELEASE_LEADS, approval_message, approved_to_copy
from tests.e2e.world import World, assert_succeeded

FLOOR_S = 1.0


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the p95 from the click to the copy's start is under 1 s and every run copied, and
    the p95 from an already-there request to its final message is under 1 s, every one of them
    answered "already there"; else 1."""
    ok = figures["p95_s"] < FLOOR_S and figures["copied"] == figures["runs"] > 0
    already = figures["already_p95_s"] < FLOOR_S
    answered = figures["already_answered"] == figures["already_runs"] > 0
    return 0 if ok and already and answered else 1


def already_there(w: World, environment: str) -> tuple[float, bool]:
    """(seconds from sending `/ecr promote` to its final message, whether it said "already
    there"): the acknowledgement, or the thread's last reply when it went on in a thread."""
    started = time.monotonic()
    response = w.slash(f"promote {w.app} 1.0.0 {environment}")
    answered = time.monotonic() - started
    words = str(response.json().get("text", "")) if response.status_code == 200 else ""
    if words.startswith(f":white_check_mark: Already in `{environment}`: same digest"):
        return answered, True

    def final() -> tuple[float, bool] | None:
        for call in w.slack.calls("chat.postMessage"):
            said = str(call.params.get("text", ""))
            if call.at >= started and said.startswith((":white_check_mark: Promoted", ":x:")):
                return call.at - started, "already there, nothing copied" in said
        return None

    found: tuple[float, bool] = wait_until(final, timeout=30, interval=0.01)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--already", type=int, default=10, help="already-there requests")
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
        ] + [{"name": "again", "registry": "home", "repository": f"{w.app}-again"}]  # fmt: skip
        w.create_repository(name=f"{w.app}-again")
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
        # Without approvers, from the last env: copied once (in a thread), then already there.
        first, _ = already_there(w, "again")
        already: list[float] = []
        answered = 0
        for _ in range(args.already):
            took, said = already_there(w, "again")
            already.append(took)
            answered += said
            time.sleep(0.2)  # a person's pace, not a flood
    p95 = percentile(timings, 95)
    print(
        f"Approve click to the copy's start, {args.runs} runs: median "
        f"{statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
        f"{max(timings) * 1000:.0f} ms; copied {copied}/{args.runs}"
    )
    already_p95 = percentile(already, 95)
    print(
        f"Already there, request to final message, {args.already} runs (load "
        f"{os.getloadavg()[0]:.1f}): median {statistics.median(already) * 1000:.0f} ms, p95 "
        f"{already_p95 * 1000:.0f} ms, max {max(already) * 1000:.0f} ms; answered already there "
        f"{answered}/{args.already} (the first, a copy: {first * 1000:.0f} ms)"
    )
    failed = verdict({
        "p95_s": p95, "copied": copied, "runs": args.runs, "already_p95_s": already_p95,
        "already_answered": answered, "already_runs": args.already,
    })  # fmt: skip
    print(
        f"{'FAIL' if failed else 'PASS'}: p95 {p95 * 1000:.0f} ms, already there p95 "
        f"{already_p95 * 1000:.0f} ms (floors: under 1 s)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
