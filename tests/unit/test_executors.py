"""Every thread pool comes from the named Executors, and stopping a process shuts them down."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.bootstrap import build_services
from bot.bootstrap.cli import CliAdapters
from bot.config import Settings, load_catalog
from bot.runtime.executors import Concurrency, Executors
from tests.fakes import FakeEngine, FakeRegistry, RecordingReporter

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "bot/runtime/executors.py"


def test_no_pool_is_made_outside_the_executor_policy() -> None:
    """A pool made elsewhere escapes the policy's sizes and names, and nobody shuts it down."""
    made = re.compile(r"\b(ThreadPoolExecutor|ProcessPoolExecutor)\s*\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("bot", "handlers")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != POLICY
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if made.search(line)
    ]
    assert offenders == []


def test_a_pool_is_refused_after_shutdown() -> None:
    executors = Executors(Concurrency())
    pool = executors.pool("notices")
    executors.shutdown()
    assert executors.closed
    with pytest.raises(RuntimeError):
        pool.submit(print)  # the pool itself is shut down
    with pytest.raises(RuntimeError, match="after shutdown"):
        executors.pool("reports")


def test_stopping_the_services_shuts_their_pools_down(tmp_path: Path) -> None:
    engine = FakeEngine()
    services = build_services(
        Settings(database_url=f"sqlite:///{tmp_path}/bot.db", work_dir=str(tmp_path)),
        catalog=load_catalog(ROOT / "ecrbot.example.yml"),
        engine=engine,
        registry=FakeRegistry(engine),
        reporter=RecordingReporter(),
    )
    triage = services.executors.pool("triage")  # made while the services were built
    services.start(schedule=False)
    services.stop(0)
    assert services.executors.closed
    with pytest.raises(RuntimeError):
        triage.submit(print)


def test_a_terminal_command_closes_its_adapters(tmp_path: Path) -> None:
    adapters = CliAdapters(Settings(work_dir=str(tmp_path)))
    adapters.executors.pool("checks")
    adapters.close()
    assert adapters.executors.closed
