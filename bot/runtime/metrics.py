"""Prometheus metrics: read from the live objects at scrape time, plus a few counters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

STEP_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
# A job's final states (JobState.finished) and a report's kinds and outcomes: their series exist
# at 0 from the start, so rate() and increase() in the alerts see the first failure.
PUSH_OUTCOMES = ("succeeded", "failed", "cancelled", "interrupted")
REPORT_KINDS = ("scheduled", "adhoc")
REPORT_OUTCOMES = ("posted", "failed")


class OutboxStats(Protocol):
    """The Slack sender's counters (`adapters/slack_outbox.py`), as the scrape reads them:
    declared here so that the runtime layer never imports an adapter."""

    @property
    def sent(self) -> int: ...
    @property
    def rate_limited(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def dropped(self) -> int: ...


class Metrics:
    """One registry per process (not prometheus_client's global one, so tests stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.step_seconds = Histogram(
            "ecrbot_step_duration_seconds",
            "Seconds per pipeline step of finished jobs.",
            ["step"],
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )
        self.aws_errors = Counter(
            "ecrbot_aws_api_errors",
            "AWS API calls that answered an error, by service and error code.",
            ["service", "code"],
            registry=self.registry,
        )

        self.refused = Counter(
            "ecrbot_refused_requests",
            "HTTP requests refused before Bolt saw them, by reason.",
            ["reason"],
            registry=self.registry,
        )

        self.triage = Counter(
            "ecrbot_triage_messages",
            "Messages handed to triage, by what became of them.",
            ["outcome"],
            registry=self.registry,
        )

        self.pushes = Counter(
            "ecrbot_pushes",
            "Finished pushes by app and outcome (the job's final state).",
            ["app", "outcome"],
            registry=self.registry,
        )
        self.reports = Counter(
            "ecrbot_reports",
            "Health reports by kind (scheduled, adhoc) and outcome (posted, failed).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        for kind in REPORT_KINDS:
            for outcome in REPORT_OUTCOMES:
                self.reports.labels(kind=kind, outcome=outcome)

    def triaged(self, outcome: str) -> None:
        self.triage.labels(outcome=outcome).inc()

    def known_apps(self, apps: Iterable[str]) -> None:
        """Start each catalog app's push series at 0."""
        for app in apps:
            for outcome in PUSH_OUTCOMES:
                self.pushes.labels(app=app, outcome=outcome)

    def push_finished(self, app: str, outcome: str) -> None:
        self.pushes.labels(app=app, outcome=outcome).inc()

    def report_done(self, scheduled: bool, posted: bool) -> None:
        kind = "scheduled" if scheduled else "adhoc"
        self.reports.labels(kind=kind, outcome="posted" if posted else "failed").inc()

    def refused_request(self, reason: str) -> None:
        self.refused.labels(reason=reason).inc()

    def observe_steps(self, durations: dict[str, float]) -> None:
        for step, seconds in durations.items():
            self.step_seconds.labels(step=step).observe(seconds)

    def aws_error(self, service: str, code: str) -> None:
        self.aws_errors.labels(service=service, code=code).inc()

    def watch(
        self,
        jobs_by_state: Callable[[], dict[tuple[str, str], int]],
        queue_depth: Callable[[], int],
        outbox: Callable[[], OutboxStats | None],
        outbox_pending: Callable[[], int | None] = lambda: None,
        heartbeat: Callable[[], float | None] = lambda: None,
        next_report: Callable[[], datetime | None] = lambda: None,
    ) -> None:
        """Report live figures at each scrape: jobs per state and app, queue, Slack calls, the
        worker's last heartbeat and the next scheduled report."""
        self.registry.register(
            _Live(jobs_by_state, queue_depth, outbox, outbox_pending, heartbeat, next_report)
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    def __init__(
        self,
        jobs_by_state: Callable[[], dict[tuple[str, str], int]],
        queue_depth: Callable[[], int],
        outbox: Callable[[], OutboxStats | None],
        outbox_pending: Callable[[], int | None],
        heartbeat: Callable[[], float | None],
        next_report: Callable[[], datetime | None],
    ) -> None:
        self._jobs, self._queue, self._outbox = jobs_by_state, queue_depth, outbox
        self._outbox_pending = outbox_pending
        self._heartbeat, self._next_report = heartbeat, next_report

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        jobs = GaugeMetricFamily(
            "ecrbot_jobs", "Jobs in the store by state and app.", labels=["state", "app"]
        )
        for (state, app), count in sorted(self._jobs().items()):
            jobs.add_metric([state, app], count)
        yield jobs
        yield GaugeMetricFamily(
            "ecrbot_queue_depth", "Jobs queued for the worker.", value=self._queue()
        )
        stats = self._outbox()
        if stats is not None:
            calls = CounterMetricFamily(
                "ecrbot_slack_api_calls", "Slack Web API calls by outcome.", labels=["outcome"]
            )
            for outcome in ("sent", "rate_limited", "failed", "dropped"):
                calls.add_metric([outcome], getattr(stats, outcome))
            yield calls
        pending = self._outbox_pending()
        if pending is not None:
            yield GaugeMetricFamily(
                "ecrbot_slack_outbox_pending",
                "Slack calls queued or being sent (a backlog during rate limits or outages).",
                value=pending,
            )
        # Absent, not 0, where nothing beats (a bot replica of the scaled-out setup) or nothing
        # is scheduled: the alerts tell "no worker anywhere" from "a worker stopped".
        beat = self._heartbeat()
        if beat is not None:
            yield GaugeMetricFamily(
                "ecrbot_worker_heartbeat_timestamp_seconds",
                "When this process's job worker last showed it runs (Unix time).",
                value=beat,
            )
        due = self._next_report()
        if due is not None:
            yield GaugeMetricFamily(
                "ecrbot_report_next_run_timestamp_seconds",
                "When the scheduled health report fires next (Unix time).",
                value=due.timestamp(),
            )
