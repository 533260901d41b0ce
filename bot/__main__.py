"""`python -m bot` is the `ecrbot` command."""

from bot.entrypoints.launch import entry

entry()
