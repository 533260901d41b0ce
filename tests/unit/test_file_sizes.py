"""Files stay a few hundred lines (issue #17, the house's rule 8): none under `bot/` or
`handlers/` is over 400; a longer one is split by responsibility, not raised a limit."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.source_text  # mutmut's copy of bot/ is its rewritten text, many times longer
def test_no_python_file_under_bot_or_handlers_is_over_400_lines() -> None:
    files = sorted(p for folder in ("bot", "handlers") for p in (ROOT / folder).rglob("*.py"))
    assert len(files) > 100, "the walk found too few files: is ROOT the repository?"
    over = {str(p.relative_to(ROOT)): n for p in files if (n := lines(p)) > MAX_LINES}
    assert not over, f"over {MAX_LINES} lines, split by responsibility: {over}"


def test_the_count_is_of_lines(tmp_path: Path) -> None:
    just = tmp_path / "just.py"
    just.write_text("x = 1\n" * MAX_LINES)
    over = tmp_path / "over.py"
    over.write_text("x = 1\n" * MAX_LINES + "y = 2")  # no final newline: still a line
    assert lines(just) == MAX_LINES
    assert lines(over) == MAX_LINES + 1
