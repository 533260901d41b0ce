"""The scaled-out setup on this machine: two bot replicas and two `ecrbot worker` processes on
one Redis and one PostgreSQL, driven the way Slack would (signed HTTP to either replica)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import scan_databases
from tests.e2e.harness import wait_until
from tests.e2e.test_push_lifecycle import SLOW, sleeping_build_containers
from tests.e2e.world import World, assert_succeeded, job_id
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def fleet(tmp_path: Path, services: dict[str, str], slack: SlackStandIn) -> Iterator[World]:
    world = World(tmp_path, services, slack, backend="celery")
    try:
        yield world
    finally:
        world.stop()
        scan_databases(world)


def add_apps(world: World, count: int) -> list[str]:
    """`count` more apps of the same source, each with its own ECR repository."""
    names = [f"{world.app}-{n}" for n in range(count)]
    for name in names:
        world.apps[name] = dict(world.apps[world.app])
        world.create_repository(immutable=False, name=name)
    return names


def test_ten_pushes_of_five_apps_spread_over_two_workers_in_each_apps_order(fleet: World) -> None:
    apps = add_apps(fleet, 5)
    fleet.start_bot()
    fleet.start_worker("w2")
    _, replica_b = fleet.start_replica()
    assert fleet.sender is not None
    jobs = []
    for round_ in range(2):
        for n, app in enumerate(apps):
            sender = fleet.sender if n % 2 == 0 else replica_b  # either replica takes commands
            sha = fleet.sample.shas[0][:7]
            answer = sender.slash_command(f"push {app} {sha} 1.{round_}.0", user_id="U0ALICE")
            jobs.append(job_id(answer))

    for job in jobs:
        assert_succeeded(fleet.wait_finished(job, timeout=180))
    rows = {row["id"]: row for row in fleet.jobs()}
    assert {rows[job]["worker"] for job in jobs} == {"w1", "w2"}  # both workers built
    for app in apps:
        mine = sorted((row for row in rows.values() if row["app"] == app), key=lambda r: r["id"])
        assert len(mine) == 2
        first, second = mine
        assert first["finished_at"] <= second["started_at"]  # one at a time, in order
    assert len({message["ts"] for message in fleet.slack.messages()}) == len(fleet.slack.messages())
    parents = [m for m in fleet.slack.messages() if "thread_ts" not in m]
    assert len(parents) == 10  # one thread per job, opened once across processes


def test_cancel_through_one_replica_stops_the_build_on_the_worker_running_it(
    fleet: World,
) -> None:
    fleet.create_repository()
    sha = fleet.sample.commit(SLOW.format(seconds=120), "slow")
    fleet.start_bot()
    _, replica_b = fleet.start_replica()
    job = fleet.push(sha)
    wait_until(sleeping_build_containers, timeout=60)
    assert fleet.jobs()[-1]["worker"] == "w1"

    answer = replica_b.slash_command(f"cancel {job}", user_id="U0ALICE")
    assert f"Job {job}: cancel requested" in answer.json()["text"]

    parent = fleet.wait_finished(job, timeout=30)
    assert parent["text"].startswith("🛑")
    wait_until(lambda: not sleeping_build_containers(), timeout=20)  # the build really stopped
    assert fleet.registry_tags() == {}


def test_a_worker_killed_mid_build_leaves_its_job_interrupted_and_the_next_one_runs(
    fleet: World,
) -> None:
    fleet.create_repository(immutable=False)
    slow = fleet.sample.commit(SLOW.format(seconds=300), "slow")
    fleet.start_bot()
    job = fleet.push(slow)
    wait_until(sleeping_build_containers, timeout=60)
    fleet.start_worker("w2")
    fleet.fleet.workers["w1"].stop(signal.SIGKILL)  # type: ignore[union-attr]

    next_job = fleet.push(fleet.sample.shas[0], "2.0.0")
    parent = fleet.wait_finished(job, timeout=90)
    assert parent["text"].startswith("⚠️")
    final = fleet.thread(job)[-1]["text"]
    assert final.startswith("⚠️ Interrupted: w1 stopped answering"), final
    assert_succeeded(fleet.wait_finished(next_job, timeout=120))
    rows = {row["id"]: row for row in fleet.jobs()}
    assert rows[job]["state"] == "interrupted" and rows[next_job]["worker"] == "w2"
    assert not [row for row in rows.values() if row["state"] == "running"]
