"""`ecrbot push --app <app> --sha <sha>` starts its mirror's fetch before its imports.

Read from the command line and the environment alone (adapters/git_early.py says why and what
the fetch may and may not prove). Anything this reading is unsure of starts nothing: the
checkout then fetches as it always did, a little later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.adapters.git_early import EARLY, EarlyFetches
from bot.config_dirs import WORK_DIR_ENV, user_data_dir

SHA = re.compile(r"[0-9a-fA-F]{7,40}")


def start_push_fetch(
    argv: Sequence[str],
    environ: Mapping[str, str] = os.environ,
    fetches: EarlyFetches = EARLY,
) -> bool:
    """Start the fetch of the app `argv` pushes (`sys.argv[1:]`); True when one started."""
    if not argv or argv[0] != "push":
        return False
    app, sha = _last(argv[1:], "--app"), _last(argv[1:], "--sha")
    if not app or app.startswith("-") or sha is None or not SHA.fullmatch(sha):
        return False
    work_dir = _work_dir(environ)
    if work_dir is None:
        return False
    return fetches.start(work_dir / "sources", app, sha.lower())


def _last(args: Sequence[str], flag: str) -> str | None:
    """The flag's value as argparse takes it (the last one given), up to a `--`."""
    value = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == flag:
            value = args[index + 1] if index + 1 < len(args) else None
        elif arg.startswith(f"{flag}="):
            value = arg.partition("=")[2]
    return value


def _work_dir(environ: Mapping[str, str]) -> Path | None:
    """ECRBOT_WORK_DIR as the settings read it; None when they might read it otherwise (the
    settings take any case of the name, or an empty value)."""
    named = [name for name in environ if name.upper() == WORK_DIR_ENV]
    if named == [WORK_DIR_ENV] and environ[WORK_DIR_ENV]:
        return Path(environ[WORK_DIR_ENV])
    return user_data_dir() if not named else None
