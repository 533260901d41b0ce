"""Jobs over time: cancel, restarts, Slack misbehaving, Socket Mode, same-app queueing."""

from __future__ import annotations

import signal
import time

import docker
import requests

from tests.e2e.harness import ALICE, APP_TOKEN, processes, wait_until
from tests.e2e.world import World, assert_succeeded, job_id, text_of
from tests.standins.slack_client import slash_command_payload

SLOW = (
    "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n"
    'RUN ["/bin/busybox", "sleep", "{seconds}"]\n'
)


def sleeping_build_containers() -> list[str]:
    """RUN steps sleeping on the engine: the classic builder runs them in containers, BuildKit
    in runc processes of its own (not containers), found in the process table."""
    client = docker.from_env()
    running = client.containers.list(filters={"status": "running"})
    found = [c.id for c in running if "sleep" in " ".join(c.attrs["Config"].get("Cmd") or [])]
    return found + [str(pid) for pid in processes("/bin/busybox", "sleep")]


def test_cancel_mid_build_stops_the_build_and_says_so(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=120), "slow")
    world.start_bot()
    job = world.push(sha)
    wait_until(sleeping_build_containers, timeout=60)

    answer = world.slash(f"cancel {job}")
    assert f"Job {job}: cancel requested" in answer.json()["text"]

    parent = world.wait_finished(job, timeout=30)
    assert parent["text"].startswith("🛑")
    assert world.thread(job)[-1]["text"].startswith("🛑 Cancelled")
    wait_until(lambda: not sleeping_build_containers(), timeout=20)  # the build really stopped
    assert world.registry_tags() == {}


def test_a_restart_mid_job_marks_it_interrupted_in_its_thread(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=120), "slow")
    world.start_bot()
    job = world.push(sha)
    wait_until(sleeping_build_containers, timeout=60)

    world.restart_bot(signal.SIGKILL)

    parent = world.wait_finished(job, timeout=60)
    assert parent["text"].startswith("⚠️")
    assert "Interrupted" in world.thread(job)[-1]["text"]
    assert '"Retry"' in text_of(parent)


def test_slack_429_and_500_during_progress_do_not_fail_the_push(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=4), "slow enough to edit progress")
    world.slack.fail_next("chat.update", status=429, retry_after=1, times=2)
    world.slack.fail_next("chat.postMessage", status=500, times=2)
    world.start_bot()

    job = world.push(sha, "3.0.0")

    assert_succeeded(world.wait_finished(job))
    assert set(world.registry_tags()) == {sha, "3.0.0"}
    replies = [m["text"] for m in world.thread(job)]
    assert replies[0].startswith("✅ Checked out") and replies[-1].startswith("✅ Done")
    assert world.slack.count(status=429) >= 1 and world.slack.count(status=500) >= 1
    assert "Traceback" not in (world.bot.log() if world.bot else "")


def test_a_second_push_of_the_same_app_waits_for_the_first(world: World) -> None:
    world.create_repository(immutable=False)
    slow = world.sample.commit(SLOW.format(seconds=3), "slow")
    world.start_bot()
    first = world.push(slow)
    wait_until(sleeping_build_containers, timeout=60)
    second = world.push(world.sample.shas[0])

    wait_until(
        lambda: any(
            "Waiting for job" in str(m) or f"waiting for job {first}" in str(m)
            for m in world.slack.messages()
        ),
        timeout=20,
    )
    assert_succeeded(world.wait_finished(first))
    assert_succeeded(world.wait_finished(second))


def test_socket_mode_delivers_a_slash_command_and_runs_the_push(world: World) -> None:
    world.create_repository()
    bot = world.start_bot_socket_mode(APP_TOKEN)
    world.slack.wait_for_socket_client(timeout=30)
    assert requests.get(f"{bot.ops_url}/readyz", timeout=10).status_code == 200
    assert requests.get(f"{bot.ops_url}/slack/events", timeout=10).status_code == 404
    payload = slash_command_payload(
        f"push {world.app} {world.sample.shas[0][:7]}", user_id=ALICE, trigger_id="7.7.socket"
    )

    envelope = world.slack.send_envelope("slash_commands", payload)
    ack = world.slack.wait_for_ack(envelope, timeout=10)

    text = ack["payload"]["text"]
    assert "Queued" in text
    started = time.monotonic()
    assert_succeeded(world.wait_finished(job_id_from(text)))
    assert time.monotonic() - started < 120


def job_id_from(text: str) -> int:
    class _R:
        def json(self) -> dict[str, str]:
            return {"text": text}

    return job_id(_R())  # type: ignore[arg-type]


def _socket_push(world: World, sha: str, trigger: str) -> int:
    payload = slash_command_payload(
        f"push {world.app} {sha[:7]}", user_id=ALICE, trigger_id=trigger
    )
    ack = world.slack.wait_for_ack(world.slack.send_envelope("slash_commands", payload))
    return job_id_from(ack["payload"]["text"])


def test_sigterm_in_socket_mode_lets_the_running_build_finish(world: World) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=3), "finishes within the drain")
    bot = world.start_bot_socket_mode(APP_TOKEN, ECRBOT_DRAIN_SECONDS="60")
    world.slack.wait_for_socket_client(timeout=30)
    job = _socket_push(world, sha, "7.7.drain")
    wait_until(sleeping_build_containers, timeout=60)

    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)  # the bot is PID 1 in its image: it must handle this
    assert bot.proc.wait(90) == 0

    # The outbox was flushed before the process exited: the thread is complete already.
    parent = world.parent(job)
    assert parent is not None and parent["text"].startswith("✅"), text_of(parent or {})
    assert world.thread(job)[-1]["text"].startswith("✅ Done")
    assert world.jobs()[0]["state"] == "succeeded"
    assert "stopping: no new events" in bot.log()


def test_sigterm_interrupts_a_build_that_outlasts_the_drain_and_keeps_queued_jobs(
    world: World,
) -> None:
    world.create_repository()
    sha = world.sample.commit(SLOW.format(seconds=120), "outlasts the drain")
    bot = world.start_bot_socket_mode(APP_TOKEN, ECRBOT_DRAIN_SECONDS="2", ECRBOT_WORKERS="1")
    world.slack.wait_for_socket_client(timeout=30)
    running = _socket_push(world, sha, "7.7.long")
    wait_until(sleeping_build_containers, timeout=60)
    queued = _socket_push(world, world.sample.shas[0], "7.7.queued")

    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(60) == 0

    parent = world.parent(running)
    assert parent is not None and parent["text"].startswith("⚠️")
    assert "Interrupted" in world.thread(running)[-1]["text"]
    states = {row["id"]: row["state"] for row in world.jobs()}
    assert states == {running: "interrupted", queued: "queued"}  # runs at the next start
    wait_until(lambda: not sleeping_build_containers(), timeout=20)
