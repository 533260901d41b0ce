"""E2E fixtures: real Docker, registry, moto and a real bot process; Slack is our stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import SIGNING_SECRET, service_env
from tests.e2e.world import BOT_LOGS, World
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


SECRET_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{10,}"),
    re.compile(r"QVdTO[A-Za-z0-9+/=]{8,}"),  # base64 of an ECR login "AWS:..."
    re.compile(re.escape(SIGNING_SECRET)),
    re.compile(r"\d{12}-auth-token"),  # the ECR password the test registry accepts
)


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_bot_log() -> Iterator[None]:
    """After the whole e2e run: no bot log may contain anything token-shaped."""
    yield
    leaks = [
        f"{path}: {match.group()[:12]}…"
        for path in BOT_LOGS
        if path.exists()
        for pattern in SECRET_PATTERNS
        for match in pattern.finditer(path.read_text(errors="replace"))
    ]
    assert leaks == [], leaks
