"""Faults, injected into the real parts around a running bot. Each one must end in a clear job
state, with the thread saying what happened, nothing lost and nothing left running.

SIGKILL mid-job and SIGTERM drains are in test_push_lifecycle.py; Slack 429/5xx in
test_push_lifecycle.py and test_slack_outage.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest
import requests

from tests.diagnose_seed import MotoSession, Platform
from tests.e2e.harness import ADMIN, wait_until
from tests.e2e.test_diagnose import diagnose_thread
from tests.e2e.test_push_lifecycle import SLOW, sleeping_build_containers
from tests.e2e.world import World, assert_succeeded, text_of
from tests.report_seed import seed_registry
from tests.standins.aws_faults import AwsFaults
from tests.standins.socket_proxy import SocketProxy

BIG_LAYER = (
    "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n"
    'RUN ["/bin/busybox", "dd", "if=/dev/urandom", "of=/big", "bs=1M", "count=24"]\n'
)


@pytest.fixture
def edge(world: World) -> Iterator[str]:
    url = f"{world.env['ECR_EDGE_CONTROL_URL']}/faults/{world.app}"
    yield url
    requests.delete(url, timeout=5)


@pytest.fixture
def engine(world: World) -> Iterator[SocketProxy]:
    proxy = SocketProxy(world.tmp / "docker.sock").start()
    yield proxy
    proxy.stop()


def retry(world: World, job: int) -> int:
    """Press the parent message's Retry button; the new job's id."""
    assert world.sender is not None
    answer = world.sender.block_action("ecr_retry", str(job), user_id="U0ALICE")
    assert answer.status_code == 200
    found = wait_until(lambda: [j["id"] for j in world.jobs() if j["id"] > job], timeout=30)
    return int(found[0])


def test_the_engine_lost_mid_build_fails_the_job_clearly_and_a_retry_builds(
    world: World, engine: SocketProxy
) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=4), "slow")
    world.start_bot(DOCKER_HOST=engine.docker_host)
    job = world.push(sha)
    wait_until(sleeping_build_containers, timeout=60)

    engine.stop()  # dockerd "restarts": the bot's connection is cut, new ones are refused
    shown = text_of(world.wait_finished(job, timeout=60))
    assert "Failed at *build*: The Docker engine is unreachable" in shown, shown
    engine.start()

    again = retry(world, job)
    assert_succeeded(world.wait_finished(again, timeout=120))
    assert world.registry_tags()
    wait_until(lambda: not sleeping_build_containers(), timeout=20)


def test_the_engine_lost_mid_push_fails_the_job_clearly(
    world: World, engine: SocketProxy, edge: str
) -> None:
    world.create_repository()
    sha = world.sample.commit(BIG_LAYER, "a big layer")
    # Every layer upload fails, so dockerd sits in its upload retries: the push is in flight.
    requests.put(edge, json={"fault": "upload_error"}, timeout=5)
    world.start_bot(DOCKER_HOST=engine.docker_host)
    job = world.push(sha)
    wait_until(lambda: "✅ Build" in str(world.thread(job)) or "Push" in str(world.thread(job)))
    time.sleep(1)

    engine.stop()
    shown = text_of(world.wait_finished(job, timeout=90))
    assert "Failed at *push*" in shown and "Docker engine is unreachable" in shown, shown
    requests.delete(edge, timeout=5)
    engine.start()
    assert_succeeded(world.wait_finished(retry(world, job), timeout=180))


@pytest.mark.parametrize("fault", ["upload_error", "upload_reset"])
def test_a_registry_failing_a_layer_upload_once_is_retried_by_the_engine(
    world: World, edge: str, fault: str
) -> None:
    world.create_repository()
    sha = world.sample.commit(BIG_LAYER, f"a big layer ({fault})")
    requests.put(edge, json={"fault": fault, "times": 1}, timeout=5)
    world.start_bot()
    assert_succeeded(world.wait_finished(world.push(sha, "1.0.0"), timeout=180))
    assert set(world.registry_tags()) == {sha, "1.0.0"}
    faults = requests.get(edge.rsplit("/", 1)[0], timeout=5).json()
    assert world.app not in faults  # the counted fault was hit, so it cleared itself


def test_a_login_that_expires_between_build_and_push_is_renewed(world: World, edge: str) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=3), "slow")
    with AwsFaults(world.env["AWS_ENDPOINT_URL"]) as aws:
        world.start_bot(AWS_ENDPOINT_URL=aws.url)
        job = world.push(sha)
        wait_until(sleeping_build_containers, timeout=60)
        # The login the bot took before the build now counts as expired, until ECR hands out a
        # new one (all moto tokens look alike, so the edge is told when that happens).
        requests.put(edge, json={"fault": "expired_token"}, timeout=5)

        def end_the_fault() -> None:
            requests.delete(edge, timeout=5)

        aws.on_call("GetAuthorizationToken", end_the_fault)
        assert_succeeded(world.wait_finished(job, timeout=120))
    assert any("ECR login expired during the build" in m["text"] for m in world.thread(job))
    assert world.registry_tags()


def test_aws_throttling_and_a_timeout_during_diagnose(world: World) -> None:
    with AwsFaults(world.env["AWS_ENDPOINT_URL"]) as aws:
        platform = Platform(MotoSession(world.env["AWS_ENDPOINT_URL"]), world.tmp / "platform")
        app = platform.app("throttled")
        world.apps[app.name] = app.catalog
        aws.throttle("ListUsers")  # IAM keeps throttling the key-user lookup
        aws.stall("GetRole", seconds=12, times=1)  # past the 10 s read timeout, once
        world.start_bot(AWS_ENDPOINT_URL=aws.url)
        world.slash(f"diagnose {app.name}", user=ADMIN)
        _, replies = diagnose_thread(world, app.name)
        checklist = str([r.get("blocks") for r in replies])
    assert "could not check: " in checklist and "Throttling" in checklist, checklist
    assert "`trust.subject`" in checklist  # the role came back on the retry after the timeout
    assert ("ListUsers", "throttle") in aws.hurt and ("GetRole", "stall") in aws.hurt


def test_aws_throttling_during_a_report_is_waited_out(world: World) -> None:
    seed_registry(world.ecr)
    with AwsFaults(world.env["AWS_ENDPOINT_URL"]) as aws:
        aws.throttle("DescribeImages|ListRoles", times=4)
        world.start_bot(AWS_ENDPOINT_URL=aws.url)
        world.slash("report", user=ADMIN)
        wait_until(lambda: world.slack.calls("files.completeUploadExternal"), timeout=120)
    parent = next(m for m in world.slack.messages() if "thread_ts" not in m)
    assert "Could not be read" not in text_of(parent)  # adaptive retries waited it out
    assert len([h for h in aws.hurt if h[1] == "throttle"]) == 4


def _bot_database(world: World) -> Path:
    return world.tmp / "ecrbot.db"


def test_a_locked_database_when_the_push_finishes_loses_nothing(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=2), "slow")
    world.start_bot()
    job = world.push(sha)
    wait_until(sleeping_build_containers, timeout=60)
    with closing(sqlite3.connect(_bot_database(world), isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock...
        wait_until(lambda: "failed (attempt" in world.bot.log(), timeout=60)  # type: ignore[union-attr]
        time.sleep(3)
        holder.execute("ROLLBACK")  # ...then lets go
    assert_succeeded(world.wait_finished(job, timeout=90))
    assert world.jobs()[0]["state"] == "succeeded"


def test_a_full_disk_when_the_push_finishes_loses_nothing(world: World) -> None:
    data = world.tmp / "db"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(data)], check=True)
    try:
        world.create_repository()
        sha = world.sample.commit(SLOW.format(seconds=2), "slow")
        world.start_bot(ECRBOT_DATABASE_URL=f"sqlite:///{data}/ecrbot.db")
        job = world.push(sha)
        wait_until(sleeping_build_containers, timeout=60)
        filler = data / "filler"
        with suppress(OSError), filler.open("wb") as fill:
            while True:
                fill.write(b"\0" * 65536)  # until ENOSPC
        wait_until(lambda: "failed (attempt" in world.bot.log(), timeout=60)  # type: ignore[union-attr]
        os.unlink(filler)
        assert_succeeded(world.wait_finished(job, timeout=90))
        with closing(sqlite3.connect(data / "ecrbot.db")) as conn:
            assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "succeeded"
    finally:
        if world.bot is not None:
            world.bot.stop()
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_slack_failing_for_a_minute_during_a_push_loses_nothing(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=20), "slow")
    world.start_bot()
    job = world.push(sha, "2.0.0")
    wait_until(sleeping_build_containers, timeout=60)

    world.slack.outage(500)  # 30 s of server errors...
    time.sleep(30)
    world.slack.end_outage()
    world.slack.stall(12)  # ...then 30 s of answers slower than the bot's 10 s timeout
    time.sleep(30)
    world.slack.end_stall()

    assert_succeeded(world.wait_finished(job, timeout=300))
    replies = [m["text"] for m in world.thread(job)]
    for milestone in ("✅ Checked out", "✅ Authenticated", "✅ ECR has", "✅ Done"):
        assert any(r.startswith(milestone) for r in replies), (milestone, replies)
    assert any("Build:" in r for r in replies)  # the live progress message
    assert world.slack.count(status=500) >= 1
    assert set(world.registry_tags()) == {sha, "2.0.0"}
