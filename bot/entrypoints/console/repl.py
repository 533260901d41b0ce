"""The prompt: prompt_toolkit with history, completion and a live toolbar; plain when piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.patch_stdout import patch_stdout

from bot.entrypoints.console.session import ConsoleSession

PROMPT = "ecr> "
COMMANDS = ("push", "diagnose", "report", "jobs", "cancel", "retry", "help", "exit")
OPTIONS = {"report": ("--dry-run", "schedule"), "diagnose": ("--branch", "--env", "--sha")}


class EcrCompleter(Completer):
    """Subcommands first, then app names for push and diagnose, then their options."""

    def __init__(self, apps: Callable[[], list[str]]) -> None:
        self._apps = apps

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        before = document.text_before_cursor
        words = before.split()
        if not words or before.endswith(" "):
            words.append("")
        if words[0] == "/ecr":
            words = words[1:] or [""]
        current, command = words[-1], words[0].lower()
        options: Iterable[str] = ()
        if len(words) == 1:
            options = COMMANDS
        elif command in ("push", "diagnose") and len(words) == 2 and not current.startswith("-"):
            options = self._apps()
        elif command in OPTIONS and (command == "diagnose" or len(words) == 2):
            options = OPTIONS[command]
        for option in options:
            if option.startswith(current):
                yield Completion(option + " ", start_position=-len(current), display=option)


def interactive(session: ConsoleSession, history: Path) -> None:
    """Read commands at a prompt until `exit` or Ctrl-D; output from the bot prints above it."""
    history.parent.mkdir(parents=True, exist_ok=True)
    prompt: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)),
        completer=EcrCompleter(session.app_names),
        complete_while_typing=False,
        bottom_toolbar=lambda: session.printer.toolbar() or None,
        refresh_interval=0.5,
    )
    with patch_stdout(raw=True):
        while True:
            try:
                line = prompt.prompt(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not session.run_line(line):
                break


def scripted(session: ConsoleSession, lines: Iterable[str]) -> None:
    """Commands from a pipe or file: each is echoed after the prompt, then the bot's answers."""
    for line in lines:
        if not line.strip():
            continue
        sys.stdout.write(PROMPT + line.rstrip("\n") + "\n")
        sys.stdout.flush()
        if not session.run_line(line):
            return
    session.settle()
