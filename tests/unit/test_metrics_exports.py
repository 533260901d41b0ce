"""The metrics the dashboard and the alerts read are ones the bot exports: every name they use
is found in the exposition of real `Metrics` objects, the same ones `/metrics` serves."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.slack_outbox import OutboxStats
from bot.config import Settings, load_catalog
from bot.runtime.executors import Concurrency, Executors
from bot.runtime.metrics import Metrics
from bot.runtime.worker import Worker
from bot.services.reports import ReportRunner
from tests.fakes import FakeEngine, FakeRegistry, RecordingReporter

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "ecrbot.json"
RULES = ROOT / "deploy" / "prometheus" / "ecrbot-rules.yaml"
NAME = re.compile(r"\becrbot_[a-z0-9_]+")


def samples(metrics: Metrics) -> dict[str, list[Any]]:
    """Sample name (with _total, _bucket, ...) -> its samples, parsed as Prometheus would."""
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def exercised() -> Metrics:
    """A Metrics with every figure reported once, as a busy bot would."""
    metrics = Metrics()
    metrics.watch(
        lambda: {("queued", "api"): 2, ("running", "api"): 1},
        lambda: 2,
        lambda: OutboxStats(sent=5, rate_limited=1, failed=1, dropped=1),
        outbox_pending=lambda: 3,
        heartbeat=lambda: time.time(),
        next_report=lambda: datetime(2030, 1, 7, 9, tzinfo=UTC),
    )
    metrics.known_apps(["api"])
    metrics.push_finished("api", "failed")
    metrics.observe_steps({"build": 1.5, "push": 0.5})
    metrics.aws_error("ecr", "ThrottlingException")
    metrics.refused_request("replayed")
    metrics.report_done(scheduled=True, posted=False)
    return metrics


def expressions() -> dict[str, list[str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    rules = yaml.safe_load(RULES.read_text())
    return {
        "dashboard": [t["expr"] for p in dashboard["panels"] for t in p["targets"]],
        "rules": [r["expr"] for g in rules["groups"] for r in g["rules"]],
    }


def test_every_metric_the_dashboard_and_rules_read_is_exported() -> None:
    exported = set(samples(exercised()))
    used = set()
    for where, exprs in expressions().items():
        assert exprs, where
        for expr in exprs:
            names = set(NAME.findall(expr))
            assert names, f"{where}: {expr!r} reads no ecrbot metric"
            missing = names - exported
            assert not missing, f"{where} reads {missing}, which the bot does not export"
            used |= names
    # What the issue asks the dashboard to show is all there.
    for family in (
        "ecrbot_pushes_total",
        "ecrbot_step_duration_seconds_bucket",
        "ecrbot_queue_depth",
        "ecrbot_slack_api_calls_total",
        "ecrbot_aws_api_errors_total",
        "ecrbot_refused_requests_total",
        "ecrbot_worker_heartbeat_timestamp_seconds",
        "ecrbot_report_next_run_timestamp_seconds",
        "ecrbot_reports_total",
    ):
        assert family in used, family


def test_push_and_report_series_start_at_zero() -> None:
    metrics = Metrics()
    metrics.known_apps(["api", "web"])
    found = samples(metrics)
    pushes = {(s.labels["app"], s.labels["outcome"]): s.value for s in found["ecrbot_pushes_total"]}
    assert len(pushes) == 8 and set(pushes.values()) == {0.0}
    reports = {(s.labels["kind"], s.labels["outcome"]) for s in found["ecrbot_reports_total"]}
    assert reports == {(k, o) for k in ("scheduled", "adhoc") for o in ("posted", "failed")}
    # No worker here and nothing scheduled: absent, so the alerts can tell.
    assert "ecrbot_worker_heartbeat_timestamp_seconds" not in found
    assert "ecrbot_report_next_run_timestamp_seconds" not in found


def test_the_embedded_worker_beats_while_its_threads_run() -> None:
    executors = Executors(Concurrency())
    worker = Worker(
        lambda _id, _token: None,
        lambda _id, _blocker: None,
        executors.pool("notices"),
        max_parallel=1,
    )

    def beat() -> float | None:  # read afresh each time (a property mypy would narrow)
        return worker.heartbeat_at

    assert beat() is None
    worker.start()
    try:
        now = beat()
        assert now is not None and abs(now - time.time()) < 5
    finally:
        worker.stop()
        executors.shutdown()
    assert beat() is None


class _Publishing:
    """A ReportService stand-in whose publish succeeds or raises, as told."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def publish(self, *_: object, **__: object) -> None:
        if self.fail:
            raise RuntimeError("AWS said no")


def test_report_outcomes_are_counted_by_kind() -> None:
    metrics = Metrics()
    service = _Publishing(fail=True)
    done: Callable[[bool, bool], None] = metrics.report_done
    runner = ReportRunner(
        service,  # type: ignore[arg-type]
        lambda *_: None,
        pool=ThreadPoolExecutor(1),
        on_done=done,
    )
    runner.post_now()
    service.fail = False
    runner.post_now()
    counted = {
        (s.labels["kind"], s.labels["outcome"]): s.value
        for s in samples(metrics)["ecrbot_reports_total"]
    }
    assert counted[("scheduled", "failed")] == 1 and counted[("scheduled", "posted")] == 1
    assert counted[("adhoc", "posted")] == 0


def test_the_bots_services_export_pushes_heartbeat_and_next_report(tmp_path: Path) -> None:
    from bot.bootstrap import build_services

    settings = Settings(database_url=f"sqlite:///{tmp_path}/bot.db", work_dir=str(tmp_path))
    catalog = load_catalog(ROOT / "ecrbot.example.yml")
    engine = FakeEngine()
    services = build_services(
        settings,
        catalog=catalog,
        engine=engine,
        registry=FakeRegistry(engine),
        reporter=RecordingReporter(),
    )
    before = samples(services.metrics)
    apps = {s.labels["app"] for s in before["ecrbot_pushes_total"]}
    assert apps == {app.name for app in catalog.all_apps()}
    services.start()
    try:
        found = samples(services.metrics)
        assert found["ecrbot_worker_heartbeat_timestamp_seconds"][0].value > 0
        due = found["ecrbot_report_next_run_timestamp_seconds"][0].value
        assert due > time.time()  # the catalog's weekly schedule
    finally:
        services.stop(0)
