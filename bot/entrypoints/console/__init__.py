"""`ecrbot console [--sandbox]`: the `/ecr` commands in a terminal, without a Slack workspace.

The real services and Bolt app run in this process; Slack is replaced by a local Web API server
(`bot.entrypoints.console.slack`) whose messages are rendered from their Block Kit
(`bot.render.terminal`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.domain.errors import ConfigError

USAGE = """\
Usage: ecrbot console [--sandbox] [--user U…] [--group S…]

  --sandbox     a self-contained demo: AWS in moto seeded with a small platform, sample apps in
                local git repositories, and (when the test services are up) Docker and a registry
  --user U…     the Slack user id you act as (default: the catalog's first admin)
  --group S…    a user group you belong to (repeatable; the console has no Slack directory)

Then type /ecr commands, with or without `/ecr`: push, diagnose, report, jobs, cancel, help.
Buttons are shown with the command that does the same: retry <job>, cancel <job>, diagnose <app>.
"""


@dataclass
class Options:
    sandbox: bool = False
    user: str | None = None
    groups: tuple[str, ...] = ()


class UsageProblem(Exception):
    pass


def parse(argv: Sequence[str]) -> Options:
    options = Options()
    args = list(argv)
    while args:
        word = args.pop(0)
        flag, _, inline = word.partition("=")
        if flag == "--sandbox" and not inline:
            options.sandbox = True
        elif flag in ("--user", "--group"):
            value = inline or (args.pop(0) if args else "")
            if not value:
                raise UsageProblem(f"{flag} needs a value")
            if flag == "--user":
                options.user = value
            else:
                options.groups += (value,)
        else:
            raise UsageProblem(f"unknown option {word}")
    return options


def main(argv: Sequence[str] = ()) -> int:
    """Run the console until `exit`; returns the process exit code."""
    if any(arg in ("-h", "--help", "help") for arg in argv):
        print(USAGE)
        return 0
    try:
        options = parse(argv)
    except UsageProblem as error:
        print(f"Error: {error}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return _run(options)
    except KeyboardInterrupt:
        return 130


def _run(options: Options) -> int:
    from bot.entrypoints.console import sandbox as sandboxes
    from bot.entrypoints.console.backends import SandboxError
    from bot.entrypoints.console.banner import banner
    from bot.entrypoints.console.printer import Printer
    from bot.entrypoints.console.repl import interactive, scripted
    from bot.entrypoints.console.session import ConsoleSession

    # moto's server logs each request through werkzeug, to stderr unless told otherwise.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    printer = Printer()
    chosen = os.environ.get("ECRBOT_WORK_DIR")
    sandbox: sandboxes.Sandbox | None = None
    session: ConsoleSession | None = None
    try:
        if options.sandbox:
            printer.note("Starting the sandbox: AWS in moto, sample apps in local git…")
            sandbox = sandboxes.start(Path(chosen) if chosen else None)
            settings, home = sandbox.settings, sandbox.root
            printer.names.update(sandbox.names)
        else:
            settings = Settings()
            home = settings.work_dir
        _log_to(home / "console.log", settings.log_level)
        session = ConsoleSession(
            settings,
            printer,
            user=options.user,
            groups=options.groups,
            members=sandbox.groups if sandbox else None,
            push_unavailable=sandbox.backend.push_unavailable if sandbox else None,
        )
        session.start()
        banner(printer, session, sandbox, home / "console.log")
        if sys.stdin.isatty():
            interactive(session, (Path(chosen) if chosen else home) / "console_history")
        else:
            scripted(session, sys.stdin)
        running = printer.active_jobs()
        if running:
            printer.note(f"Cancelling job(s) {', '.join(map(str, running))} as the console stops.")
    except (ConfigError, SandboxError) as error:
        print(f"ecrbot console: {error}", file=sys.stderr)
        return 2
    finally:
        if session is not None:
            session.stop()
        if sandbox is not None:
            sandbox.close()
    return 0


def _log_to(path: Path, level: str) -> None:
    """The bot's log goes to a file: the terminal belongs to the prompt. Secrets are masked."""
    from bot.runtime.logs import configure

    configure(level, "text", path)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def run_without_slack() -> int:
    """What `ecrbot serve` can do when SLACK_BOT_TOKEN is not set: on a terminal, start the
    sandbox console; elsewhere (a container, CI) say how to try ecrbot without Slack."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        print(
            "SLACK_BOT_TOKEN is not set, so there is no Slack to serve: starting the sandbox "
            "console (`ecrbot console --sandbox`). Set SLACK_BOT_TOKEN to serve Slack.",
            file=sys.stderr,
        )
        return main(["--sandbox"])
    print(
        "SLACK_BOT_TOKEN is not set: see the README's quick start, "
        "or try ecrbot without Slack: `ecrbot console --sandbox`.",
        file=sys.stderr,
    )
    return 2
