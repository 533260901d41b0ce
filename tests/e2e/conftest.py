"""E2E fixtures: real Docker, registry, moto and a real bot process; Slack is our stand-in."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, SIGNING_SECRET, service_env
from tests.e2e.world import BOT_LOGS, World
from tests.standins.slack_api import SlackStandIn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    return service_env()


# Calls Slack answered `missing_scope` during the whole e2e run, with the shipped manifest's
# scopes (a test that takes a scope away on purpose is not counted). Must stay 0.
MISSING_SCOPE: list[str] = []
LEAKS: list[str] = []
SCANNED: Counter[str] = Counter()


@pytest.fixture
def slack(request: pytest.FixtureRequest) -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        shipped = standin.scopes
        yield standin
        calls = standin.calls()
        SCANNED["slack calls"] += len(calls)
        LEAKS.extend(
            f"{request.node.name}: Slack {call.method}: {match[:12]}…"
            for call in calls
            for match in secrets_in(json.dumps(call.params, default=str))
        )
        if standin.scopes == shipped:
            MISSING_SCOPE.extend(
                f"{request.node.name}: {call.method} needs {call.response.get('needed')}"
                for call in standin.calls()
                if call.response.get("error") == "missing_scope"
            )


@pytest.fixture
def world(tmp_path: Path, services: dict[str, str], slack: SlackStandIn) -> Iterator[World]:
    world = World(tmp_path, services, slack)
    try:
        yield world
    finally:
        world.stop()
        scan_databases(world)


def scan_databases(world: World) -> None:
    """Count the world's databases and look for secrets in them."""
    if world.shared_rows:
        SCANNED["databases"] += 1
        LEAKS.extend(f"PostgreSQL jobs: {m[:12]}…" for m in secrets_in(world.shared_rows))
    for database in world.tmp.glob("**/*.db"):
        SCANNED["databases"] += 1
        text = database.read_bytes().decode("latin-1")
        LEAKS.extend(f"{database}: {match[:12]}…" for match in secrets_in(text))


SECRET_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{10,}"),
    re.compile(r"QVdTO[A-Za-z0-9+/=]{8,}"),  # base64 of an ECR login "AWS:..."
    re.compile(re.escape(SIGNING_SECRET)),
    re.compile(r"\d{12}-auth-token"),  # the ECR password the test registry accepts
)


def secrets_in(text: str) -> list[str]:
    return [match.group() for pattern in SECRET_PATTERNS for match in pattern.finditer(text)]


@pytest.fixture(scope="session", autouse=True)
def no_missing_scope_in_the_whole_run() -> Iterator[None]:
    """After the whole e2e run: Slack never answered missing_scope to the shipped scopes."""
    yield
    assert MISSING_SCOPE == [], MISSING_SCOPE


@pytest.fixture(scope="session", autouse=True)
def no_secret_anywhere() -> Iterator[None]:
    """After the whole e2e run: nothing token-shaped in any bot log, any message or request
    the bot sent Slack, or any bot database. The tally goes to var/e2e-secrets.json."""
    yield
    for path in BOT_LOGS:
        if path.exists():
            SCANNED["bot logs"] += 1
            LEAKS.extend(
                f"{path}: {m[:12]}…" for m in secrets_in(path.read_text("utf-8", "replace"))
            )
    tally = {**SCANNED, "secrets found": len(LEAKS), "missing_scope answers": len(MISSING_SCOPE)}
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var/e2e-secrets.json").write_text(json.dumps(tally, indent=2) + "\n")
    assert LEAKS == [], LEAKS
