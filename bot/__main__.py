"""`python -m bot` is the `ecrbot` command."""

import gc

gc.disable()  # already for the imports below: `entry` says which commands keep it off

from bot.entrypoints.cli import entry  # noqa: E402 (after the collector is off)

entry()
