"""`ecrbot`: serve the Slack bot, or push, promote, diagnose, report, list jobs and export the
audit log from a terminal or CI."""

from __future__ import annotations

import argparse
import gc
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from bot import __version__
from bot.config import Settings, load_catalog
from bot.domain.errors import ConfigError, SchemaError, StepError, UserError
from bot.entrypoints import arguments, push
from bot.render import job_list as jobs
from bot.runtime.logs import configure

if TYPE_CHECKING:
    from bot.bootstrap import CliAdapters

USAGE_EXIT = 2  # argparse's; `push` keeps the script's 1 (bot/entrypoints/push.py)
# The commands that run without the cyclic garbage collector (`entry` turns it off for the
# start-up; every other command turns it back on). `diagnose` is one short process that CI runs
# on every pull request: the collector's passes over the objects of its imports and AWS models
# cost it about 0.07 s of 0.8 s of CPU (gc.callbacks), and its garbage is bounded by one
# snapshot. `promote` is one copy: the collector's passes over botocore's models cost it
# 0.04-0.06 s of a 0.5 s "already there" (issue #16), and its garbage is one promotion's.
# serve, worker and console run for days; push and report allocate as they go.
WITHOUT_GC = frozenset({"diagnose", "promote"})


def _console(argv: list[str]) -> int:
    from bot.entrypoints.console import main

    return main(argv)


def _worker(argv: list[str]) -> int:
    from bot.entrypoints.worker import main

    return main(argv)


def _db(argv: list[str]) -> int:
    from bot.entrypoints.db import main

    return main(argv)


# The commands with a parser of their own (see arguments.DELEGATED).
DELEGATED: dict[str, Callable[[list[str]], int]] = {
    "worker": _worker,
    "db": _db,
    "console": _console,
}


def _bootstrap_adapters(settings: Settings) -> CliAdapters:
    # Imported on use: the composition root loads Celery, boto3, docker and Slack, which help,
    # version and the delegated commands don't need. (Loaded up front, the console sandbox
    # stopped seeing Ctrl-D at its prompt: tests/e2e/test_console.py.)
    from bot.bootstrap import build_cli_adapters

    return build_cli_adapters(settings)


def entry() -> NoReturn:
    """The `ecrbot` program (after launch.py's first lines): `main`, then an exit without the
    interpreter's teardown (quick_exit.py). Tests call `main`, which returns."""
    from bot.entrypoints.quick_exit import exit_now

    gc.disable()  # main() turns it back on unless the command is in WITHOUT_GC
    exit_now(main())


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Callable[[], Settings] = Settings,
    adapters: Callable[[Settings], CliAdapters] = _bootstrap_adapters,
) -> int:
    """Run one command; returns the process exit code. Tests pass settings and adapters."""
    parser, commands = arguments.build()
    try:
        args, extras = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    except arguments.Answered as done:
        return done.status
    except arguments.Usage as usage:
        if usage.parser is commands["push"]:
            return push.refuse(usage.cause or usage.message)
        return _refuse(usage.parser, usage.message)
    command: str | None = args.command
    if command not in WITHOUT_GC:
        gc.enable()
    if command in DELEGATED:
        return DELEGATED[command](extras)
    if extras:
        if command == "push":
            return push.unknown(extras)
        refused_by = commands[command] if command else parser
        return _refuse(refused_by, f"unrecognized arguments: {shlex.join(extras)}")
    if command is None:
        parser.print_help()
        return 0
    if command == "help":
        return _help(parser, commands, args.topic)
    if command == "version":
        print(__version__)
        return 0
    try:
        loaded = settings()
    except ValidationError as error:
        problem = error.errors()[0]
        print(f"Error: {'.'.join(map(str, problem['loc']))}: {problem['msg']}", file=sys.stderr)
        return USAGE_EXIT
    if command == "serve":
        return _serve(loaded)
    built = adapters(loaded)
    try:
        return RUNS[command](args, loaded, built)
    finally:
        built.close()


def _refuse(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return USAGE_EXIT


def _help(
    parser: arguments.Parser, commands: dict[str, arguments.Parser], topic: str | None
) -> int:
    if topic is None:
        parser.print_help()
        return 0
    if topic in DELEGATED:
        return DELEGATED[topic](["--help"])
    if topic not in commands:
        return _refuse(commands["help"], f"no command {topic!r}: see `ecrbot --help`")
    commands[topic].print_help()
    return 0


def _serve(settings: Settings) -> int:
    from bot.entrypoints.server import serve

    configure(settings.log_level, settings.log_format)
    if settings.slack_bot_token is None:
        from bot.entrypoints.console import run_without_slack

        return run_without_slack()  # the sandbox console on a terminal; how to, elsewhere
    if not settings.socket_mode and settings.slack_signing_secret is None:
        print(
            "Set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode).",
            file=sys.stderr,
        )
        return 2
    try:
        serve(settings)
    except ConfigError as error:
        print(f"ecrbot: {error}", file=sys.stderr)
        return 2
    return 0


def _diagnose(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:
    from bot.domain import commands
    from bot.render import diagnose_text as render
    from bot.services.diagnose import DiagnoseRequest

    # The words go through the /ecr grammar, so a terminal accepts exactly what Slack does.
    words = ["diagnose", *([args.app] if args.app else [])]
    flags = {"--branch": args.branch, "--env": args.environment, "--sha": args.sha}
    words += [word for flag, value in flags.items() if value is not None for word in (flag, value)]
    try:
        parsed = commands.parse(shlex.join(words))
        assert isinstance(parsed, commands.Diagnose)
        catalog = load_catalog(settings.config_path, settings.build_secrets_dir)
        configure("WARNING")
        report = adapters.diagnoser(catalog).run(
            DiagnoseRequest(parsed.app, parsed.branch, parsed.environment, parsed.sha)
        )
    except (UserError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(render.as_json(report) if args.format == "json" else render.as_text(report))
    return 1 if report.failed else 0


def _promote(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:
    """0: the target holds the digest; 1: refused or failed; 2: catalog or database."""
    from bot.domain.promotion import CopyFailed, DigestMismatch
    from bot.render import promotion_text as render

    try:
        catalog = load_catalog(settings.config_path, settings.build_secrets_dir)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    # Its two digest reads start now (threads), while the database and the locks load.
    adapters.promotion_reads(catalog, args.app, args.ref, args.to)
    # Locks live in the bot's database: without it none could be seen, so none is assumed.
    if _no_database(settings, "a promotion is refused when its locks can't be read"):
        return 2
    configure("WARNING")
    try:
        done = adapters.promotions(catalog).promote(args.app, args.ref, args.to, user=None)
    except (UserError, CopyFailed, DigestMismatch, StepError) as error:
        words = f"{error}"
        print(f"Error: {words}", file=sys.stderr)
        if args.format == "json":
            print(render.failure_json(args.app, args.ref, args.to, words))
        return 1
    except (SchemaError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(
        render.as_json(done, args.ref) if args.format == "json" else render.as_text(done, args.ref)
    )
    return 0


def _report(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:
    from bot.render import report as render

    try:
        catalog = load_catalog(settings.config_path, settings.build_secrets_dir)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    configure("WARNING")
    report = adapters.reports(catalog).service.build().report
    print(render.as_json(report) if args.format == "json" else render.as_text(report))
    return 0


def _no_database(settings: Settings, why: str = "") -> bool:
    """True (and said) when the URL names a SQLite file that is not there: opening it would
    create an empty database and answer "nothing yet"."""
    from bot.bootstrap.database import missing_sqlite_file

    where = missing_sqlite_file(settings)
    if where is not None:
        print(
            f"Error: no SQLite database at {where}: set ECRBOT_DATABASE_URL to the bot's"
            + (f" ({why})" if why else ""),
            file=sys.stderr,
        )
        return True
    return False


def _jobs(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:

    if _no_database(settings):
        return 2
    configure("WARNING")
    try:
        recent = adapters.store().recent(args.limit)
    except (SchemaError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(jobs.as_json(recent) if args.format == "json" else jobs.as_table(recent))
    return 0


def _audit_verify(settings: Settings, adapters: CliAdapters) -> int:
    """`ecrbot audit verify`: 0 intact, 1 broken (the first bad id named), 2 unreadable."""
    if _no_database(settings):
        return 2
    configure("WARNING")
    try:
        found = adapters.audit().integrity()
    except (SchemaError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the driver's text may repeat the statement: its kind only
        print(f"Error: the database could not be read ({type(error).__name__})", file=sys.stderr)
        return 2
    if found.intact:
        print(f"audit log {found.summary()}")
        return 0
    print(f"audit log BROKEN: {found.summary()}", file=sys.stderr)
    return 1


def _audit(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:
    from bot.domain import commands
    from bot.render import audit as render
    from bot.services.audit import latest

    if args.what == "verify":
        return _audit_verify(settings, adapters)
    # The filters go through the /ecr grammar, so a terminal accepts exactly what Slack does.
    words = ["audit", *([args.app] if args.app is not None else [])]
    flags = {"--user": args.user, "--since": args.since}
    words += [f"{flag}={value}" for flag, value in flags.items() if value is not None]
    try:
        parsed = commands.parse(shlex.join(words))
    except UserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    assert isinstance(parsed, commands.Audit)
    if _no_database(settings):
        return 2
    configure("WARNING")
    try:
        page = latest(adapters.audit(), parsed.app, parsed.user, parsed.since, limit=args.limit)
    except (SchemaError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    out = (
        render.as_json(page.entries) + "\n"
        if args.format == "json"
        else render.as_csv(page.entries)
    )
    sys.stdout.write(out)
    return 0


# The terminal commands that use adapters; `main` closes those adapters when one returns.
RUNS: dict[str, Callable[[argparse.Namespace, Settings, CliAdapters], int]] = {
    "push": push.run,
    "promote": _promote,
    "diagnose": _diagnose,
    "report": _report,
    "audit": _audit,
    "jobs": _jobs,
}
