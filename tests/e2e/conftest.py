"""E2E fixtures: real Docker, registry, moto and a real bot process; Slack is our stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import service_env
from tests.e2e.world import World
from tests.standins.slack_api import SlackStandIn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    return service_env()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def world(tmp_path: Path, services: dict[str, str], slack: SlackStandIn) -> Iterator[World]:
    world = World(tmp_path, services, slack)
    try:
        yield world
    finally:
        world.stop()
