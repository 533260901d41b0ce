"""The `ecrbot` program's first lines (and `python -m bot`'s), before any import that costs.

`ecrbot push --app` starts its git fetch here (bootstrap/early.py), so that the fetch, the
longest step before the build, runs while the interpreter loads pydantic, boto3 and docker.
"""

from __future__ import annotations

import gc
import sys
from typing import NoReturn


def entry() -> NoReturn:
    """`ecrbot`: the early fetch, if any, then the command (cli.py)."""
    gc.disable()  # already for the imports: `cli.main` says which commands keep it off
    from bot.bootstrap.early import start_push_fetch

    start_push_fetch(sys.argv[1:])
    from bot.entrypoints.cli import entry as run

    run()
