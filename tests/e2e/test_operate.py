"""Operating the bot: readiness follows the Docker engine, metrics after a push, JSON logs."""

from __future__ import annotations

import json
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import wait_until
from tests.e2e.world import World, assert_succeeded
from tests.standins.socket_proxy import SocketProxy


def test_readyz_goes_unready_when_the_docker_engine_stops(world: World) -> None:
    proxy = SocketProxy(world.tmp / "docker.sock").start()
    bot = world.start_bot(DOCKER_HOST=proxy.docker_host)
    try:
        ready = requests.get(f"{bot.ops_url}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["docker"] == "ok"

        proxy.stop()
        down = requests.get(f"{bot.ops_url}/readyz", timeout=30)
        assert down.status_code == 503
        checks = down.json()["checks"]
        assert checks["docker"] != "ok" and checks["database"] == "ok"
        assert requests.get(f"{bot.url}/healthz", timeout=5).status_code == 200

        proxy.start()
        assert wait_until(
            lambda: requests.get(f"{bot.ops_url}/readyz", timeout=10).status_code == 200, timeout=20
        )
    finally:
        proxy.stop()


def test_metrics_after_a_push_parse_with_prometheus_client(world: World) -> None:
    world.create_repository()
    bot = world.start_bot()
    assert_succeeded(world.wait_finished(world.push(world.sample.shas[0])))

    text = requests.get(f"{bot.ops_url}/metrics", timeout=10).text
    families = {family.name: family for family in text_string_to_metric_families(text)}

    jobs = {(s.labels["state"], s.labels["app"]): s.value for s in families["ecrbot_jobs"].samples}
    assert jobs[("succeeded", world.app)] == 1
    steps = [
        s for s in families["ecrbot_step_duration_seconds"].samples if s.name.endswith("_count")
    ]
    assert {s.labels["step"] for s in steps} >= {"checkout", "build", "push", "verify"}
    slack = {
        s.labels["outcome"]: s.value
        for s in families["ecrbot_slack_api_calls"].samples
        if s.name.endswith("_total")
    }
    assert slack["sent"] >= 5
    assert families["ecrbot_queue_depth"].samples[0].value == 0
    assert "ecrbot_aws_api_errors" in families
    pushes = {
        (s.labels["app"], s.labels["outcome"]): s.value
        for s in families["ecrbot_pushes"].samples
        if s.name.endswith("_total")
    }
    assert pushes[(world.app, "succeeded")] == 1 and pushes[(world.app, "failed")] == 0
    beat = families["ecrbot_worker_heartbeat_timestamp_seconds"].samples[0].value
    assert abs(beat - time.time()) < 60  # the embedded pool runs


def test_logs_are_json_lines_carrying_the_job_id(world: World) -> None:
    world.create_repository()
    bot = world.start_bot(ECRBOT_LOG_FORMAT="json")
    job = world.push(world.sample.shas[0])
    world.wait_finished(job)
    lines = [json.loads(line) for line in bot.log().splitlines() if line.startswith("{")]
    of_job = [entry for entry in lines if entry.get("job_id") == job]
    assert any("job started" in entry["message"] for entry in of_job)
    assert any("job succeeded" in entry["message"] for entry in of_job)
    assert all({"ts", "level", "logger", "message"} <= set(entry) for entry in lines)


def test_readiness_and_metrics_are_only_on_the_ops_port(world: World) -> None:
    # /metrics names every app and /readyz says which dependency fails: not for whoever can
    # reach Slack's port (issue #18). The load balancer's /healthz stays on both.
    bot = world.start_bot()
    for path in ("/metrics", "/readyz"):
        public = requests.get(f"{bot.url}{path}", timeout=10)
        assert public.status_code == 404 and "ecrbot_" not in public.text, path
        assert requests.get(f"{bot.ops_url}{path}", timeout=10).status_code == 200, path
    assert requests.get(f"{bot.url}/healthz", timeout=10).status_code == 200
    assert requests.get(f"{bot.ops_url}/healthz", timeout=10).status_code == 200
    assert requests.get(f"{bot.ops_url}/slack/events", timeout=10).status_code == 404
