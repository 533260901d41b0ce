"""Golden files: compare against what is committed; update mode writes them and fails.

Update mode (`ECRBOT_UPDATE_GOLDEN=1`) used to write the file and then compare the output with
what it had just written, so it always passed: a run meant to regenerate could pass as a run
that checked. It now writes and fails, so the rewritten files are reviewed before a green run.
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATING = bool(os.environ.get("ECRBOT_UPDATE_GOLDEN"))


class GoldenRewritten(AssertionError):
    """Update mode wrote a golden file: the run fails until someone reviews it."""


def check_golden(path: Path, actual: str, *, update: bool = UPDATING) -> None:
    """Assert `actual` is what `path` holds; in update mode write it there and fail."""
    if update:
        before = path.read_text(encoding="utf-8") if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        what = "unchanged" if before == actual else "rewritten"
        raise GoldenRewritten(
            f"{path.name} {what} (ECRBOT_UPDATE_GOLDEN is set): review `git diff {path}`, "
            "then run the tests without ECRBOT_UPDATE_GOLDEN"
        )
    if not path.exists():
        raise AssertionError(f"no golden file {path}: run once with ECRBOT_UPDATE_GOLDEN=1")
    assert actual == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from the output; if the change is intended, "
        "regenerate with ECRBOT_UPDATE_GOLDEN=1 and review the diff"
    )
