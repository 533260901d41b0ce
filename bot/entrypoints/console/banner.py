"""The first lines the console prints: who you are, what the sandbox holds, what to try."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from bot.entrypoints.console.printer import Printer
from bot.entrypoints.console.sandbox import BROKEN, HEALTHY, ORPHAN, Sandbox
from bot.entrypoints.console.session import ConsoleSession


def banner(printer: Printer, session: ConsoleSession, sandbox: Sandbox | None, log: Path) -> None:
    name = printer.names.get(session.user, session.user)
    admins = session.services.catalog.slack.admins if session.services else ()
    role = "an admin" if session.user in admins else "not an admin"
    lines = Text()
    if sandbox is None:
        lines.append("ecrbot console", "bold")
        catalog = session.services.settings.config_path if session.services else "?"
        lines.append(f": catalog {catalog}")
    else:
        lines.append("ecrbot sandbox", "bold")
        lines.append(f": AWS is {sandbox.backend.description}; files in {sandbox.root}\n")
        lines.append(f"  {HEALTHY}", "bold")
        lines.append(" is healthy; ")
        lines.append(BROKEN, "bold")
        lines.append(" is broken (no id-token: write, its role trusts another repository); ")
        lines.append(ORPHAN, "bold")
        lines.append(" is a repository with no app.")
    lines.append(f"\nYou are @{name} ({session.user}), {role}. The bot's log: {log}\n")
    for note in sandbox.notes if sandbox else ():
        lines.append(note + "\n", "yellow")
    if sandbox is not None:
        if sandbox.backend.push_unavailable:
            lines.append(sandbox.backend.push_unavailable + "\n", "yellow")
        else:
            docker = sandbox.backend.docker_host or "the local Docker engine"
            lines.append(f"push builds with {docker} and pushes to the local registry.\n")
        lines.append("Try: ")
        tries = [f"diagnose {BROKEN}", "report --dry-run"]
        if not sandbox.backend.push_unavailable:
            tries.append(f"push {HEALTHY} {sandbox.shas.get(HEALTHY, '')[:7]}")
        for index, command in enumerate(tries):
            lines.append(("   " if index else "") + command, "cyan")
        lines.append("\n")
    lines.append("Type help for the commands, exit (or Ctrl-D) to leave; Tab completes.", "dim")
    printer.write(lines)
