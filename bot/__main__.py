"""`python -m bot` is the `ecrbot` command."""

from bot.entrypoints.cli import entry

entry()
