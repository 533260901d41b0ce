"""Slack calls per push, whatever the number of layers; 429s with 10 pushes at once.

10 apps whose images have 20+ layers are pushed at once while the Slack stand-in rate-limits
like Slack (chat.postMessage ~1/s, chat.update 50/min, short bursts). Floors (issue #2): at most
15 Slack calls per push (429-answered retries counted separately); no 429 goes unhandled (no
call given up, every thread complete). Run: `python -m benchmarks.bench_slack_calls`.

"Given up" is counted from the Slack stand-in's record of the calls it answered, not from the
bot's log (a log line is the bot's own claim, and a changed message would read as 0).
"""

from __future__ import annotations

import argparse
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from benchmarks.common import world
from tests.e2e.harness import APP_TEAM_GROUP, SampleApp, unique
from tests.e2e.world import World, assert_succeeded
from tests.standins.slack_api import Call

LAYERS = 20


def many_layers(app: SampleApp) -> str:
    lines = ["FROM scratch", "COPY busybox /bin/busybox"]
    for n in range(LAYERS):
        (app.path / f"f{n}").write_text(f"layer {n} {app.path.name}\n")
        lines.append(f"COPY f{n} /f{n}")
    return app.commit("\n".join(lines) + "\n", "many layers")


def calls_of(w: World, job: int) -> tuple[int, int]:
    """(answered 200, answered 429) Slack calls about one job's messages."""
    parent = w.parent(job)
    assert parent is not None
    ours = {parent["ts"]} | {m["ts"] for m in w.thread(job)}
    ok = limited = 0
    for call in w.slack.calls():
        params: dict[str, Any] = call.params
        posted = (call.response or {}).get("ts") if call.method == "chat.postMessage" else None
        if params.get("thread_ts") in ours or params.get("ts") in ours or posted in ours:
            ok += call.status == 200
            limited += call.status == 429
        elif call.method == "chat.postMessage" and call.status == 429:
            text = str(params.get("text", ""))
            limited += w.app in text and f"job {job}" in text
    return ok, limited


CALLS_FLOOR = 15  # Slack calls answered 200 per push


def _place(call: Call) -> Hashable:
    """Where a call lands: a retry (even re-rendered, as coalesced calls are) lands there too."""
    params = call.params
    channel = params.get("channel")
    if call.method == "chat.update":
        return (call.method, channel, params.get("ts"))
    if call.method == "chat.postMessage" and params.get("thread_ts"):
        return (call.method, channel, params.get("thread_ts"))
    if call.method == "chat.postMessage" and isinstance(params.get("metadata"), Mapping):
        payload = params["metadata"].get("event_payload") or {}
        return (call.method, channel, "job", payload.get("job_id"))
    return (call.method, repr(sorted(params.items())))


def given_up(calls: Sequence[Call]) -> int:
    """Calls the stand-in refused (429, 5xx...) that no later call to the same place made good.

    The outbox retries a failed call before anything queued behind it, so a refusal followed
    by a 200 at the same place was retried; a refusal with no 200 after it was given up.
    """
    last_ok: dict[Hashable, int] = {}
    for index, call in enumerate(calls):
        if call.status == 200:
            last_ok[_place(call)] = index
    return sum(
        1
        for index, call in enumerate(calls)
        if call.status != 200 and last_ok.get(_place(call), -1) < index
    )


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the busiest push made at most 15 calls and no call was given up, else 1."""
    ok = figures["worst_calls_per_push"] <= CALLS_FLOOR and figures["given_up"] == 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    with world() as w:
        apps = {}
        for _ in range(args.pushes):
            name = unique("bench-calls")
            sample = SampleApp.create(w.tmp / "src" / name, w.sample.busybox)
            apps[name] = many_layers(sample)
            w.apps[name] = {"source": str(sample.path), "pushers": [APP_TEAM_GROUP]}
            w.create_repository(name=name)
        w.slack.rate_limit("chat.postMessage", per_second=1.0, burst=3)
        w.slack.rate_limit("chat.update", per_second=50 / 60, burst=5)
        w.start_bot(ECRBOT_WORKERS="2")
        jobs = {}
        for name, sha in apps.items():
            w.app = name
            jobs[name] = w.push(sha, "1.0.0")
        per_job = {}
        for name, job in jobs.items():
            assert_succeeded(w.wait_finished(job, timeout=300))
            per_job[name] = calls_of(w, job)
        calls = w.slack.calls()
    worst = max(ok for ok, _ in per_job.values())
    limited = sum(1 for call in calls if call.status == 429)
    dropped = given_up(calls)
    for name, (ok, lim) in per_job.items():
        print(f"{name}: {ok} Slack calls ({lim} more answered 429 and retried)")
    print(
        f"429 answers in all: {limited}; calls given up: {dropped}; layers per image: {LAYERS + 1}"
    )
    failed = verdict({"worst_calls_per_push": worst, "given_up": dropped})
    print(
        f"{'FAIL' if failed else 'PASS'}: at most {worst} calls per push (floor: <= "
        f"{CALLS_FLOOR}), {dropped} calls given up (floor: 0)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
