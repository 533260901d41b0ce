"""The `ecrbot` command line: every command, flag and help text, parsed by argparse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from bot import __version__
from bot.entrypoints import push
from bot.render import job_list as jobs

DESCRIPTION = (
    "Serve the ecrbot Slack bot, or push, promote, diagnose, report, list jobs and export the "
    "audit log from a shell."
)
EPILOG = """\
Settings come from the environment (SLACK_BOT_TOKEN, ECRBOT_CONFIG, ECRBOT_DATABASE_URL, ...:
see the README's Configuration section). `ecrbot <command> --help` explains a command.
"""
# Commands with a parser of their own (bot/entrypoints/<name>): every word after the name is
# theirs, `--help` included. Their one-line summaries are here, for `ecrbot --help`.
DELEGATED = {
    "worker": "run pushes from the Celery queue (ECRBOT_WORKER_BACKEND=celery)",
    "db": "the database: `ecrbot db upgrade` applies its schema migrations",
    "console": "the /ecr commands in a terminal, without Slack (--sandbox: a demo)",
}


class Usage(Exception):
    """A bad command line, with the parser that refused it."""

    def __init__(self, parser: argparse.ArgumentParser, message: str, cause: object) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message
        self.cause = cause if isinstance(cause, argparse.ArgumentError) else None


class Answered(Exception):
    """`--help` or `--version` was answered: stop with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` returns an exit code and each
    command decides how a bad command line is told."""

    def error(self, message: str) -> NoReturn:
        # argparse calls this inside its `except ArgumentError` when there is one: keep it, so
        # `push` can name the flag the way the script did.
        raise Usage(self, message, sys.exception())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise Answered(status)


if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[Parser]


def build() -> tuple[Parser, dict[str, Parser]]:
    """The `ecrbot` parser, and each command's own by name."""
    parser = Parser(
        prog="ecrbot",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(
        dest="command", title="commands", metavar="<command>", parser_class=Parser
    )
    commands = {
        "serve": _command(
            sub,
            "serve",
            "run the Slack bot (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)",
            "Run the Slack bot until SIGTERM. HTTP mode serves /slack/events, /healthz, /readyz\n"
            "and /metrics under gunicorn on PORT. With SLACK_APP_TOKEN set it uses Socket Mode,\n"
            "and still serves /healthz, /readyz and /metrics on PORT. With no SLACK_BOT_TOKEN, on\n"
            "a terminal, it starts the offline sandbox console.",
        ),
        "push": _push(sub),
        "promote": _promote(sub),
        "diagnose": _diagnose(sub),
        "report": _report(sub),
        "jobs": _jobs(sub),
        "audit": _audit(sub),
    }
    for name, summary in DELEGATED.items():
        commands[name] = sub.add_parser(name, help=summary, add_help=False)
    commands["version"] = _command(sub, "version", "print the version")
    commands["help"] = _command(sub, "help", "this list, or a command's help")
    commands["help"].add_argument("topic", nargs="?", metavar="command")
    return parser, commands


def _command(sub: Commands, name: str, summary: str, description: str = "", **more: Any) -> Parser:
    return sub.add_parser(
        name,
        help=summary,
        description=description or summary[0].upper() + summary[1:] + ".",
        allow_abbrev=False,  # `--reg` is a typo, not `--registry`
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **more,
    )


def _push(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "push",
        "build and push an image to ECR, in place of ecr-build-push.sh",
        push.DESCRIPTION,
        usage=push.FORMS,
        epilog=push.EPILOG,
    )
    push.arguments(parser)
    return parser


def _promote(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "promote",
        "copy an app's image to an environment by digest; exits 0 when the target holds it",
        "Resolve VERSION|SHA to a digest in the previous environment's registry (the home\n"
        "registry for the first environment) and copy that exact image, every platform of an\n"
        "index, to ENV with skopeo. Nothing is rebuilt; the target's digest is read back and\n"
        "must equal the source's. Already there: nothing is copied. A lock on the app or on\n"
        "ENV (in ECRBOT_DATABASE_URL, the bot's database) refuses it.",
        epilog="Exit codes: 0 the target holds the digest (copied or already there), 1 refused\n"
        "or failed (locked, not in the source, copy or verification failed), 2 a bad command\n"
        "line, catalog or database setting.",
    )
    parser.add_argument("--app", required=True, help="an app of the catalog (ECRBOT_CONFIG)")
    parser.add_argument(
        "--ref", required=True, metavar="VERSION|SHA", help="the tag to promote: 1.4.0 or a SHA"
    )
    parser.add_argument("--to", required=True, metavar="ENV", help="one of the app's environments")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text, or JSON: {app, ref, environment, digest, source, targets, result, seconds}",
    )
    return parser


def _diagnose(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "diagnose",
        "the runbook's troubleshooting checklist; exits 1 when a check fails",
        "Run the runbook's troubleshooting checklist against live AWS and the app's git\n"
        "source. Without an app, check ecrbot itself: identity, region, Docker engine, ECR\n"
        "token and registry login.",
        epilog="Exit codes: 0 no check failed, 1 a check failed, 2 a bad command line or catalog.",
    )
    parser.add_argument("app", nargs="?", help="an app of the catalog (ECRBOT_CONFIG)")
    parser.add_argument("--branch", help="read the workflows on this branch (default: the app's)")
    parser.add_argument(
        "--env", dest="environment", metavar="ENV", help="also check this environment's subject"
    )
    parser.add_argument("--sha", help="also say what a push of this commit would do")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text, or JSON: {subject, verdict, checks: [...]} (default: text)",
    )
    return parser


def _report(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "report",
        "print the registry health report (nothing is posted or stored)",
        "Build the registry health report from ECR, IAM and the job store, and print it.\n"
        "Nothing is posted to Slack or stored.",
    )
    parser.add_argument(
        "--format", choices=("md", "json"), default="md", help="Markdown or JSON (default: md)"
    )
    return parser


def _jobs(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "jobs",
        "list recent jobs of the whole fleet, from the database",
        "List the newest jobs in the database (ECRBOT_DATABASE_URL), newest first: id, app,\n"
        "SHA, version, state, who asked, the worker that ran it, and when it was created,\n"
        "started and finished (UTC).",
    )
    parser.add_argument(
        "--limit",
        type=_up_to(jobs.MAX_LIMIT),
        default=jobs.DEFAULT_LIMIT,
        metavar="N",
        help=f"how many (1 to {jobs.MAX_LIMIT}; default: {jobs.DEFAULT_LIMIT})",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="an aligned table, or a JSON list of objects (default: text)",
    )
    return parser


AUDIT_LIMIT = 1000  # entries exported by default
AUDIT_MAX = 100_000


def _audit(sub: Commands) -> Parser:
    parser = _command(
        sub,
        "audit",
        "export the audit log (who asked for what, where, when, and how it ended)",
        "Print the newest audit log entries in the database (ECRBOT_DATABASE_URL), newest\n"
        "first: at (UTC), user, kind, action, app, channel, outcome, reason and detail. Every\n"
        "command, button, shortcut, modal, triage answer and refusal is recorded; the table\n"
        "is append-only. CSV cells that a spreadsheet would run as a formula start with '.\n"
        "\n"
        "`ecrbot audit verify` checks instead that the log is as ecrbot wrote it: the\n"
        "append-only triggers are in place and the hash chain holds from the first row to the\n"
        "last. Exit 0: intact (the head id and hash are printed: keep them somewhere else);\n"
        "1: broken, naming the first bad row's id; 2: the database could not be read.",
    )
    parser.add_argument(
        "what",
        nargs="?",
        choices=("export", "verify"),
        default="export",
        help="export entries (the default), or verify the log's integrity",
    )
    parser.add_argument("--app", help="only this app's entries")
    parser.add_argument("--user", help="only this Slack user's (U123 or <@U123|name>)")
    parser.add_argument("--since", metavar="AGE", help="only the last 30m, 12h, 7d, 2w...")
    parser.add_argument(
        "--limit",
        type=_up_to(AUDIT_MAX),
        default=AUDIT_LIMIT,
        metavar="N",
        help=f"how many (1 to {AUDIT_MAX:,}; default: {AUDIT_LIMIT:,})",
    )
    parser.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        help="a JSON list of objects, or CSV with a header row (default: json)",
    )
    return parser


def _up_to(maximum: int) -> Callable[[str], int]:
    def count(word: str) -> int:
        if not (len(word) <= 6 and word.isascii() and word.isdigit()) or not (
            1 <= int(word) <= maximum
        ):
            raise argparse.ArgumentTypeError(f"takes a number from 1 to {maximum}")
        return int(word)

    return count
