"""Acknowledgement time while Slack rate-limits user-group reads (issue #18, medium 5).

The catalog has 40 apps, each pushed by its own user group, and the Slack stand-in answers 429
(Retry-After 30 s) to every usergroups.users.list. `/ecr push no-such-app` asks which apps the
person may see, so before the fix each of the 40 groups was a Slack call inside the
acknowledgement, sleeping through each 429 (69 s and 62 calls measured). Floor: every ack < 1 s.
Run: `python -m benchmarks.bench_groups [--tries 10]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping

from benchmarks.common import summary, world
from tests.e2e.harness import MALLORY

FLOOR_S = 1.0
GROUPS = 40


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the slowest ack stayed under 1 s and every answer was the refusal, else 1."""
    slowest, wrong = figures["slowest_ack_s"], figures["unexpected_answers"]
    return 0 if slowest < FLOOR_S and wrong == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    args = parser.parse_args()
    with world() as built:
        for index in range(GROUPS):
            group = f"S0GROUP{index:02d}"
            built.apps[f"app-{index:02d}"] = {"source": str(built.sample.path), "pushers": [group]}
            built.slack.set_usergroup(group, [MALLORY])
        built.slack.fail_next("usergroups.users.list", status=429, times=1_000_000, retry_after=30)
        built.start_bot()
        acks: list[float] = []
        unexpected = 0
        for _ in range(args.tries):
            started = time.perf_counter()
            response = built.slash("push no-such-app abc1234", user=MALLORY)
            acks.append(time.perf_counter() - started)
            if response.status_code != 200 or "no-such-app" not in response.text:
                print(f"unexpected answer: {response.status_code} {response.text[:200]}")
                unexpected += 1
        calls = built.slack.count("usergroups.users.list")
    print(f"ack of `/ecr push no-such-app`, {GROUPS} groups, Slack answering 429: {summary(acks)}")
    print(f"usergroups.users.list calls in all (refresher included): {calls}")
    failed = verdict({"slowest_ack_s": max(acks), "unexpected_answers": unexpected})
    print(
        f"{'FAIL' if failed else 'ok'}: slowest ack {max(acks) * 1000:.0f} ms "
        f"(floor {FLOOR_S * 1000:.0f} ms), {unexpected} unexpected answers"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
