"""Check ids are a contract: each one the checks emit is declared, and the README documents all."""

from __future__ import annotations

from pathlib import Path

from bot.domain.checks import CHECK_IDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_check_id_is_in_the_readme() -> None:
    missing = [check for check in CHECK_IDS if f"| `{check}` |" not in README]
    assert missing == []


def test_every_id_the_code_emits_is_declared() -> None:
    import re

    root = Path(__file__).resolve().parents[2] / "bot/domain/checks"
    emitted = {
        match
        for path in root.glob("*.py")
        for match in re.findall(
            r'"((?:identity|registry|workflow|oidc|trust|privilege|keys|tags'
            r'|platform)\.[a-z_]+)"',
            path.read_text(),
        )
    }
    assert emitted <= set(CHECK_IDS)
