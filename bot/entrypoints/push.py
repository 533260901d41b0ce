"""`ecrbot push`: build and push from a terminal or CI, in place of ecr-build-push.sh.

The flags, the messages of a bad command line and its exit code (1) are the script's, so a CI
job can swap one for the other; everything else about the command line is argparse's.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings, load_catalog
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, ConfigError, PipelineError, UserError
from bot.domain.models import SHA_PATTERN, AppSpec, PushRequest, RegistrySpec
from bot.domain.ports import Source
from bot.domain.push_rules import plan_tags
from bot.runtime.logs import configure

if TYPE_CHECKING:
    from bot.bootstrap import CliAdapters

FORMS = (
    "ecrbot push --registry <account>.dkr.ecr.<region>.amazonaws.com --name <repository> "
    "--sha <sha> [--version <version>] [--region <region>]\n"
    "   or: ecrbot push --app <app> --sha <sha> [--version <version>]"
)
USAGE = f"Usage: {FORMS}"
ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
USAGE_EXIT = 1  # the script's; argparse's 2 would break CI jobs that test for it

DESCRIPTION = """\
Build an image and push it to ECR, tagged with the SHA (as given) and the version, never latest.

The first form builds the current directory, like ecr-build-push.sh, and takes its flags
(--flag value or --flag=value). The second builds an app of the catalog (ECRBOT_CONFIG) at a
commit, from its git mirror under ECRBOT_WORK_DIR.
"""
EPILOG = """\
On success it prints `Pushed <uri>` for each tag and `Digest <digest>`. Exit codes: 0 pushed,
1 a bad command line or a failed step (what failed, why, and the fix are printed), 130 cancelled.
"""


class PushUsage(Exception):
    """A bad `ecrbot push` command line: said in the script's words."""


def arguments(parser: argparse.ArgumentParser) -> None:
    """The script's flags; which are required depends on the form, so `run` checks them."""
    parser.add_argument("--registry", metavar="HOST", help="the ECR registry host (first form)")
    parser.add_argument("--name", metavar="REPOSITORY", help="the ECR repository (first form)")
    parser.add_argument("--app", metavar="APP", help="an app of the catalog (second form)")
    parser.add_argument("--sha", metavar="SHA", help="the commit: 7 to 40 hex characters")
    parser.add_argument("--version", metavar="VERSION", help="also tag this version")
    parser.add_argument(
        "--region",
        metavar="REGION",
        help="the registry's region (default: the one in the registry host)",
    )


def refuse(problem: argparse.ArgumentError | str) -> int:
    """Say what is wrong with the command line in the script's words, then its usage."""
    message = problem if isinstance(problem, str) else str(problem)
    if isinstance(problem, argparse.ArgumentError) and problem.message == "expected one argument":
        message = f"Option {problem.argument_name} needs a value"
    print(f"Error: {message}\n{USAGE}", file=sys.stderr)
    return USAGE_EXIT


def unknown(extras: list[str]) -> int:
    """Refuse the first word argparse did not take, as the script did."""
    return refuse(f"Unknown option: {extras[0]}")


def run(args: argparse.Namespace, settings: Settings, adapters: CliAdapters) -> int:
    """Push; failures are printed in plain words with the fix, as the bot posts them."""
    try:
        app, registry, source = _target(args, settings, adapters)
    except (PushUsage, ConfigError) as error:
        return refuse(str(error))
    configure("WARNING")
    request = PushRequest(app.name, args.sha.lower(), args.version, "cli")
    # Pre-flight's lookups can start with the checkout when the tags are known before it: the
    # SHA as given (the first form), or a full one (what CI passes).
    known = args.app is None or len(request.sha) == 40
    tags = plan_tags(app, request.sha, request.version) if known else ()
    pipeline = adapters.pipeline(registry, source, app.repository, tags)
    progress = adapters.progress()
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
    if result.signing:
        print(result.signing)
    return 0


def _target(
    args: argparse.Namespace, settings: Settings, adapters: CliAdapters
) -> tuple[AppSpec, RegistrySpec, Source]:
    _require(args, "sha")
    if not SHA_PATTERN.fullmatch(args.sha.lower()):
        raise PushUsage(f"--sha {args.sha!r} is not a git SHA (7 to 40 hex characters)")
    if args.app is not None:
        catalog = load_catalog(settings.config_path, settings.build_secrets_dir)
        app = catalog.app(args.app)
        if app is None:
            raise PushUsage(f"no app {args.app!r} in {settings.config_path}")
        return app, catalog.registry_spec, adapters.git()
    _require(args, "registry", "name")
    host = args.registry.removeprefix("https://").rstrip("/")
    match = ECR_HOST.fullmatch(host)
    # The script defaulted to eu-west-2 whatever the registry; the host names its own region.
    region = args.region or (match.group(2) if match else None)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise PushUsage(f"cannot tell the region from {host}: pass --region")
    if not match:
        raise PushUsage(
            f"{host} is not an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"
        )
    here = Path.cwd()
    app = AppSpec(name=args.name, source=str(here), repository=args.name)
    return app, RegistrySpec(match.group(1), region), adapters.directory(here)


def _require(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if not getattr(args, name):
            raise PushUsage(f"Missing required option: --{name}")
