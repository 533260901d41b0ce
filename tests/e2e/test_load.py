"""200 signed commands in 10 seconds: every one acknowledged in time, no duplicate job, the
queue bounds refusing at once, and the bot's memory bounded. (The latency numbers are the
benchmark's, benchmarks/bench_load.py; this checks what must hold whatever the machine.)"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.load import burst, commands
from tests.e2e.world import World


def rss(world: World) -> int:
    """Resident bytes of the bot: its process and gunicorn's worker under it (from /proc)."""
    assert world.bot is not None and world.bot.proc is not None
    root = world.bot.proc.pid
    pids = {root}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == root:  # the parent pid
            pids.add(int(stat.parent.name))
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def test_200_commands_in_10_seconds(world: World) -> None:
    world.create_repository(immutable=False)
    # One push may wait per app: with the default 10, a fast machine drains the queue as quick
    # as the burst fills it and "queue full" is never said, so the bound would go untested.
    world.catalog_slack["limits"] = {"queued_per_app": 1}
    world.start_bot()
    assert world.sender is not None
    before = rss(world)

    sent = burst(world.sender, commands(world.app, world.sample.shas[0], 200), seconds=10)

    assert all(s.status == 200 for s in sent.sent), [s for s in sent.sent if s.status != 200]
    slowest = max(s.seconds for s in sent.sent)
    assert slowest < 3.0, sorted(s.seconds for s in sent.sent)[-5:]  # Slack's hard limit
    outcomes = sent.outcomes()
    assert not [o for o in outcomes if o.startswith("other")], outcomes
    assert outcomes["refused: queue full"] > 0, outcomes  # the rest are told at once
    assert outcomes["refused: not allowed"] == len(sent.of("outsider"))
    # Slack's retries of a request never make a second job.
    jobs = world.jobs()
    keys = [job["request_key"] for job in jobs]
    assert len(keys) == len(set(keys))
    pushes = sent.of("push") + sent.of("push-retry")
    queued = {s.trigger for s in pushes if s.text.startswith("Queued")}
    assert queued == set(keys)  # one job per accepted push, none for refused ones
    for trigger in {s.trigger for s in sent.of("push-retry")} & queued:
        # The retry found the same job, or (sent while the queue was full, before the first
        # copy was taken) was refused; it never made a second one.
        answers = [s.text for s in pushes if s.trigger == trigger]
        assert sum(a.startswith("Queued") for a in answers) == 1, answers
        expected = ("Queued", "Already", ":warning: Queue full", ":warning: ecrbot's queue")
        assert all(a.startswith(expected) for a in answers), answers
    grown_mb = (rss(world) - before) / 1e6
    assert grown_mb < 150, f"the bot grew {grown_mb:.0f} MB"
