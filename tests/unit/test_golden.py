"""Golden files: update mode never passes, compare mode checks the committed file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import GoldenRewritten, check_golden


def test_update_mode_writes_the_file_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "message.json"
    path.write_text("old\n")
    with pytest.raises(GoldenRewritten, match=r"message\.json rewritten .*review"):
        check_golden(path, "new\n", update=True)
    assert path.read_text() == "new\n"
    with pytest.raises(GoldenRewritten, match="unchanged"):  # even with nothing to change
        check_golden(path, "new\n", update=True)


def test_compare_mode_passes_only_on_the_committed_text(tmp_path: Path) -> None:
    path = tmp_path / "message.json"
    path.write_text("committed\n")
    check_golden(path, "committed\n", update=False)
    with pytest.raises(AssertionError, match="differs"):
        check_golden(path, "changed\n", update=False)
    assert path.read_text() == "committed\n"  # compare mode never writes
    with pytest.raises(AssertionError, match="no golden file"):
        check_golden(tmp_path / "missing.json", "x", update=False)
