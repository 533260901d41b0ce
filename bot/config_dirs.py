"""Where ecrbot keeps its files by default: read by the settings, and by the launcher before
anything else is imported (bootstrap/early.py), so the standard library only."""

from __future__ import annotations

import os
from pathlib import Path

WORK_DIR_ENV = "ECRBOT_WORK_DIR"


def user_data_dir() -> Path:
    """`$XDG_DATA_HOME/ecrbot`, else `~/.local/share/ecrbot`"""
    # The XDG base directory spec: a relative XDG_DATA_HOME is invalid and is ignored.
    xdg = Path(os.environ.get("XDG_DATA_HOME", ""))
    return (xdg if xdg.is_absolute() else Path.home() / ".local" / "share") / "ecrbot"
