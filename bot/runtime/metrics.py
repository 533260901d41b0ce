"""Prometheus metrics: read from the live objects at scrape time, plus a few counters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

STEP_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


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
    ) -> None:
        """Report live figures at each scrape: jobs per state and app, queue, Slack calls."""
        self.registry.register(_Live(jobs_by_state, queue_depth, outbox))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    def __init__(
        self,
        jobs_by_state: Callable[[], dict[tuple[str, str], int]],
        queue_depth: Callable[[], int],
        outbox: Callable[[], OutboxStats | None],
    ) -> None:
        self._jobs, self._queue, self._outbox = jobs_by_state, queue_depth, outbox

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
