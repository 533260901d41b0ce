"""Check ids are a contract: read from the checks' own declarations, documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.checks.checklist import APP_CHECKS, CHECK_IDS, PLATFORM_CHECKS
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.registry import Check, app_check

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_readme_lists_every_check_id_in_the_code_s_order_and_words() -> None:
    table = README.split("Check ids are stable:", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| (.+) \|$", table, flags=re.MULTILINE)
    assert rows == list(CHECK_IDS.items())


def test_the_order_is_the_runbook_s() -> None:
    families = list(dict.fromkeys(check_id.split(".")[0] for check_id in CHECK_IDS))
    assert families == [
        "identity",
        "registry",
        "workflow",
        "oidc",
        "trust",
        "release",
        "privilege",
        "keys",
        "tags",
        "platform",
    ]
    assert list(CHECK_IDS)[:3] == ["identity.caller", "registry.repository", "workflow.present"]


def test_each_check_is_one_function_with_one_id() -> None:
    runs = {check.run for check in APP_CHECKS} | {check.run for check in PLATFORM_CHECKS}
    assert len(runs) == len(APP_CHECKS) + len(PLATFORM_CHECKS) == len(CHECK_IDS)


def test_every_id_the_code_emits_is_declared() -> None:
    emitted = {
        match
        for path in (ROOT / "bot/domain/checks").glob("*.py")
        for match in re.findall(
            r'"((?:identity|registry|workflow|oidc|trust|release|privilege|keys|tags'
            r'|platform)\.[a-z_]+)"',
            path.read_text(),
        )
    }
    assert emitted == set(CHECK_IDS)


def test_a_check_emitting_another_id_is_refused() -> None:
    def misfiled(facts: AppFacts) -> list[CheckResult]:
        return [CheckResult("tags.image", Status.PASS, "not mine")]

    check = Check("tags.immutability", "x", __name__, misfiled)
    with pytest.raises(ValueError, match=r"emitted results for tags\.image"):
        check(None)  # type: ignore[arg-type]  # the facts are never read


def test_an_id_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        app_check("tags.image", "again")(lambda facts: [])
