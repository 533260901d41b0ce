"""Shared set-up for the benchmarks: the e2e world (bot, Docker, registry, moto, Slack)."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.harness import service_env
from tests.e2e.world import World
from tests.standins.slack_api import SlackStandIn


@contextmanager
def world(backend: str = "local") -> Iterator[World]:
    """A fresh world; needs `scripts/test-services up`."""
    with tempfile.TemporaryDirectory(prefix="ecrbot-bench-") as tmp, SlackStandIn() as slack:
        built = World(Path(tmp), service_env(), slack, backend=backend)
        try:
            yield built
        finally:
            built.stop()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} median={statistics.median(values) * 1000:.0f} ms "
        f"p99={percentile(values, 99) * 1000:.0f} ms max={max(values) * 1000:.0f} ms"
    )
