"""`ecrbot`: serve the Slack bot, or push from a terminal/CI in place of ecr-build-push.sh."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot import __version__
from bot.adapters.aws import EcrRegistry
from bot.adapters.engine import DockerEngine
from bot.adapters.source import DirectorySource, GitSource
from bot.adapters.terminal_progress import TerminalProgress
from bot.config import Settings, load_catalog
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, ConfigError, PipelineError, UserError
from bot.domain.models import SHA_PATTERN, AppSpec, PushRequest, RegistrySpec
from bot.domain.pipeline import PushPipeline
from bot.ports import Source
from bot.runtime.logs import configure

USAGE = """\
Usage: ecrbot <command> [options]

Commands:
  serve                         run the Slack bot (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)
  push --registry R --name N --sha S [--version V] [--region G]
                                build the current directory and push it (ecr-build-push.sh)
  push --app A --sha S [--version V]
                                build an app of the catalog (ECRBOT_CONFIG) at a commit and push it
  diagnose [app] [--branch B] [--env E] [--sha S] [--format text|json]
                                the runbook's troubleshooting checklist; exits 1 when a check fails
  report [--format md|json]     the registry health report (printed; nothing is posted or stored)
  console [--sandbox] [--user U]
                                the /ecr commands in a terminal, without Slack (--sandbox: a demo)
  version                       print the version
"""
PUSH_USAGE = (
    "Usage: ecrbot push --registry <account>.dkr.ecr.<region>.amazonaws.com --name <repository> "
    "--sha <sha> [--version <version>] [--region <region>]\n"
    "   or: ecrbot push --app <app> --sha <sha> [--version <version>]"
)
PUSH_FLAGS = ("--registry", "--name", "--sha", "--version", "--region", "--app")
ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "help"
    if command == "serve":
        return _serve()
    if command == "push":
        return _push(args)
    if command == "diagnose":
        return _diagnose(args)
    if command == "report":
        return _report(args)
    if command == "console":
        from bot.entrypoints.console import main as console

        return console(args)
    if command in ("version", "--version"):
        print(__version__)
        return 0
    print(USAGE, file=sys.stderr if command not in ("help", "-h", "--help") else sys.stdout)
    return 0 if command in ("help", "-h", "--help") else 2


def _logging(settings: Settings) -> None:
    configure(settings.log_level, settings.log_format)


def _serve() -> int:
    from bot.entrypoints.server import serve

    settings = Settings()
    _logging(settings)
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


class _PushArgs:
    """The script's flags: --flag value or --flag=value; unknown and missing flags fail."""

    def __init__(self, args: list[str]) -> None:
        self.values: dict[str, str] = {}
        while args:
            word = args.pop(0)
            flag, _, inline = word.partition("=")
            if flag not in PUSH_FLAGS:
                raise _CliError(f"Unknown option: {word}")
            if not inline and not args:
                raise _CliError(f"Option {flag} needs a value")
            self.values[flag[2:]] = inline or args.pop(0)

    def require(self, *names: str) -> None:
        for name in names:
            if not self.values.get(name):
                raise _CliError(f"Missing required option: --{name}")


class _CliError(Exception):
    pass


def _push(argv: list[str]) -> int:
    try:
        args = _PushArgs(list(argv))
        settings = Settings()
        app, registry, source = _push_target(args, settings)
    except (_CliError, ConfigError) as error:
        print(f"Error: {error}\n{PUSH_USAGE}", file=sys.stderr)
        return 1
    configure("WARNING")
    ecr = EcrRegistry(
        registry, endpoint_url=settings.aws_endpoint_url, ca_bundle=settings.registry_ca_bundle
    )
    pipeline = PushPipeline(
        source, DockerEngine(settings.docker_host), ecr, clock=lambda: datetime.now(UTC)
    )
    sha = args.values["sha"].lower()
    request = PushRequest(app.name, sha, args.values.get("version"), "cli")
    progress = TerminalProgress()
    try:
        result = pipeline.run(app, request, progress, CancelToken())
    except PipelineError as error:
        progress.close()
        failure = error.failure
        step = f" at {failure.step.value}" if failure.step else ""
        print(
            f"Error{step}: {failure.title}\n{failure.explanation}\nFix: {failure.fix}",
            file=sys.stderr,
        )
        for line in failure.log_tail[-10:]:
            print(f"  | {line}", file=sys.stderr)
        return 1
    except UserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        print("Cancelled", file=sys.stderr)
        return 130
    progress.close()
    for uri in result.image_uris:
        print(f"Pushed {uri}")
    print(f"Digest {result.digest}")
    return 0


def _push_target(args: _PushArgs, settings: Settings) -> tuple[AppSpec, RegistrySpec, Source]:
    args.require("sha")
    if not SHA_PATTERN.fullmatch(args.values["sha"].lower()):
        raise _CliError(f"--sha {args.values['sha']!r} is not a git SHA (7 to 40 hex characters)")
    if "app" in args.values:
        catalog = load_catalog(settings.config_path)
        app = catalog.app(args.values["app"])
        if app is None:
            raise _CliError(f"no app {args.values['app']!r} in {settings.config_path}")
        return app, catalog.registry_spec, GitSource(Path(settings.work_dir) / "sources")
    args.require("registry", "name")
    host = args.values["registry"].removeprefix("https://").rstrip("/")
    match = ECR_HOST.fullmatch(host)
    # The script defaulted to eu-west-2 whatever the registry; the host names its own region.
    region = args.values.get("region") or (match.group(2) if match else None)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise _CliError(f"cannot tell the region from {host}: pass --region")
    if not match:
        raise _CliError(
            f"{host} is not an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"
        )
    name = args.values["name"]
    app = AppSpec(name=name, source=str(Path.cwd()), repository=name)
    return app, RegistrySpec(match.group(1), region), DirectorySource(Path.cwd())


def _diagnose(argv: list[str]) -> int:
    from bot.adapters.aws import EcrRegistry
    from bot.bootstrap import build_diagnoser
    from bot.domain import commands
    from bot.render import diagnose as render
    from bot.services.diagnose import DiagnoseRequest

    output = "text"
    if "--format" in argv:
        at = argv.index("--format")
        output = argv[at + 1] if at + 1 < len(argv) else ""
        del argv[at : at + 2]
    try:
        if output not in ("text", "json"):
            raise UserError("--format takes text or json.")
        parsed = commands.parse(" ".join(["diagnose", *argv]))
        assert isinstance(parsed, commands.Diagnose)
        settings = Settings()
        catalog = load_catalog(settings.config_path)
        configure("WARNING")
        registry = EcrRegistry(
            catalog.registry_spec,
            endpoint_url=settings.aws_endpoint_url,
            ca_bundle=settings.registry_ca_bundle,
        )
        diagnoser = build_diagnoser(
            settings,
            catalog,
            DockerEngine(settings.docker_host),
            registry,
            GitSource(Path(settings.work_dir) / "sources"),
        )
        report = diagnoser.run(
            DiagnoseRequest(parsed.app, parsed.branch, parsed.environment, parsed.sha)
        )
    except (UserError, ConfigError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(render.as_json(report) if output == "json" else render.as_text(report))
    return 1 if report.failed else 0


def _report(argv: list[str]) -> int:
    from bot.adapters.aws import EcrRegistry
    from bot.adapters.store import SqlJobStore
    from bot.bootstrap import build_reports
    from bot.render import report as render

    output = argv[1] if argv[:1] == ["--format"] and len(argv) == 2 else None
    if argv and output not in ("md", "json"):
        print("Usage: ecrbot report [--format md|json]", file=sys.stderr)
        return 2
    try:
        settings = Settings()
        catalog = load_catalog(settings.config_path)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    configure("WARNING")
    registry = EcrRegistry(
        catalog.registry_spec,
        endpoint_url=settings.aws_endpoint_url,
        ca_bundle=settings.registry_ca_bundle,
    )
    runner = build_reports(settings, catalog, registry, SqlJobStore(settings.database_url))
    report = runner.service.build().report
    print(render.as_json(report) if output == "json" else render.as_text(report))
    return 0
