"""The `/ecr` command language: text in, a typed command out (or a usage error)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.audit import parse_duration
from bot.domain.errors import UsageError
from bot.domain.text import code


@dataclass(frozen=True)
class Push:
    app: str
    sha: str
    version: str | None = None


@dataclass(frozen=True)
class Jobs:
    limit: int = 10


@dataclass(frozen=True)
class Cancel:
    job_id: int


@dataclass(frozen=True)
class Diagnose:
    app: str | None = None
    branch: str | None = None
    environment: str | None = None
    sha: str | None = None


@dataclass(frozen=True)
class Report:
    dry_run: bool = False
    schedule: bool = False


@dataclass(frozen=True)
class Audit:
    app: str | None = None
    user: str | None = None  # a Slack user id
    since: timedelta | None = None


@dataclass(frozen=True)
class Lock:
    app: str
    environment: str | None
    reason: str


@dataclass(frozen=True)
class Unlock:
    app: str
    environment: str | None = None


@dataclass(frozen=True)
class Locks:
    pass


@dataclass(frozen=True)
class Promote:
    app: str
    ref: str  # a version or SHA tag
    environment: str


@dataclass(frozen=True)
class Help:
    pass


Command = Push | Jobs | Cancel | Diagnose | Report | Audit | Lock | Unlock | Locks | Promote | Help


@dataclass(frozen=True)
class Usage:
    """One subcommand as `/ecr help` shows it."""

    name: str
    usage: str
    summary: str
    example: str


USAGES = (
    Usage(
        "push",
        "/ecr push <app> <sha> [version]",
        "Build the app at a commit and push it to ECR, tagged with the SHA (and the version).",
        "/ecr push my-app 1a2b3c4 1.4.0",
    ),
    Usage(
        "diagnose",
        "/ecr diagnose [app] [--branch B] [--env E] [--sha S]",
        "Run the runbook's troubleshooting checklist against live AWS and GitHub state "
        "(no app: check ecrbot itself).",
        "/ecr diagnose my-app --branch main",
    ),
    Usage(
        "report",
        "/ecr report [--dry-run | schedule]",
        "Post the registry health report now (--dry-run: a preview only you see; "
        "schedule: when the next one is due).",
        "/ecr report --dry-run",
    ),
    Usage("jobs", "/ecr jobs", "List recent jobs: state, app, SHA, who, duration.", "/ecr jobs"),
    Usage("cancel", "/ecr cancel <job>", "Stop a queued or running job.", "/ecr cancel 42"),
    Usage(
        "audit",
        "/ecr audit [app] [--user @someone] [--since 7d]",
        "The latest audit log entries: who asked for what, where, and how it ended (admins).",
        "/ecr audit my-app --since 7d",
    ),
    Usage(
        "lock",
        "/ecr lock <app> [env] <reason>",
        "Stop pushes and promotions of an app (or promotions to one environment), saying why.",
        '/ecr lock my-app prod "release freeze until Monday"',
    ),
    Usage("unlock", "/ecr unlock <app> [env]", "Lift a lock.", "/ecr unlock my-app prod"),
    Usage("locks", "/ecr locks", "Every lock: who, when and why.", "/ecr locks"),
    Usage(
        "promote",
        "/ecr promote <app> <version|sha> <env>",
        "Copy the image the previous environment holds to env, by digest (no rebuild).",
        "/ecr promote my-app 1.4.0 prod",
    ),
    Usage("help", "/ecr help", "This list.", "/ecr help"),
)
_BY_NAME = {usage.name: usage for usage in USAGES}


MAX_TEXT = 1000  # characters after `/ecr`; every real command is far shorter
APP_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
SHA = re.compile(r"[0-9a-f]{7,40}")
# A branch as git allows it, minus what no real branch uses; ASCII only, so no look-alikes.
BRANCH = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,255}(?<![/.])")
ENVIRONMENT = re.compile(r"[A-Za-z0-9._ -]{1,255}")
JOB_ID = re.compile(r"#?([0-9]{1,9})")
# A user as Slack sends a mention (`<@U123|alice>`, `<@U123>`) or as a raw id.
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>|]{0,80})?>")


def parse(text: str) -> Command:
    """Parse the text after `/ecr`."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long.", _usage_line())
    try:
        words = shlex.split(text.strip())
    except ValueError as error:
        raise UsageError(f"Could not read that: {error}.", _usage_line()) from error
    if not words or words[0] in ("help", "-h", "--help"):
        return Help()
    name, args = words[0].lower(), words[1:]
    if name == "push":
        return _push(args)
    if name == "diagnose":
        return _diagnose(args)
    if name == "report":
        if args in ([], ["--dry-run"], ["schedule"]):
            return Report(dry_run=args == ["--dry-run"], schedule=args == ["schedule"])
        usage = _BY_NAME["report"]
        raise UsageError(
            f"`report` does not take {code(' '.join(args))}.",
            f"Usage: `{usage.usage}`, e.g. `{usage.example}`",
        )
    if name == "jobs":
        _expect(name, args, 0, 0)
        return Jobs()
    if name == "cancel":
        _expect(name, args, 1, 1)
        return Cancel(_job_id(args[0]))
    if name == "audit":
        return _audit(args)
    if name == "lock":
        return _lock(args)
    if name == "unlock":
        _expect(name, args, 1, 2)
        environment = _environment(args[1], "unlock") if len(args) == 2 else None
        return Unlock(_app_name(args[0], "unlock"), environment)
    if name == "locks":
        _expect(name, args, 0, 0)
        return Locks()
    if name == "promote":
        _expect(name, args, 3, 3)
        if not PROMOTE_REF.fullmatch(args[1]):
            raise UsageError(f"{code(args[1])} is not a version or SHA tag.", _usage_of(name))
        return Promote(_app_name(args[0], name), args[1], _environment(args[2], name))
    raise UsageError(f"{code(name)} is not an /ecr command.", _usage_line())


def _push(args: list[str]) -> Push:
    _expect("push", args, 2, 3)
    app, sha = _app_name(args[0], "push"), _sha(args[1], "push")
    return Push(app=app, sha=sha, version=args[2] if len(args) == 3 else None)


# A tag as the OCI distribution spec allows it (domain/promotion.TAG): a version or a SHA.
PROMOTE_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# An environment is a catalog name (config_release.NAME); its reason is the words after it.
ENVIRONMENT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def _lock(args: list[str]) -> Lock:
    """`<app> [env] <reason>`: a second word is the environment only with a reason after it;
    the service checks it names one of the app's environments, else it starts the reason."""
    if len(args) < 2:
        raise UsageError("`lock` needs an app and a reason.", _usage_of("lock"))
    app = _app_name(args[0], "lock")
    environment = args[1] if len(args) > 2 and ENVIRONMENT_NAME.fullmatch(args[1]) else None
    reason = " ".join(args[2:] if environment else args[1:]).strip()
    if not reason:
        raise UsageError("`lock` needs a reason.", _usage_of("lock"))
    return Lock(app, environment, reason)


def _environment(word: str, command: str) -> str:
    if not ENVIRONMENT_NAME.fullmatch(word):
        raise UsageError(f"{code(word)} is not an environment name.", _usage_of(command))
    return word


def _app_name(word: str, command: str) -> str:
    if not APP_NAME.fullmatch(word):
        raise UsageError(f"{code(word)} is not an app name.", _usage_of(command))
    return word


def _sha(word: str, command: str) -> str:
    # Only a commit id: `main`, `HEAD~1` and `latest` name refs, and refs can be moved.
    if not SHA.fullmatch(word.lower()):
        raise UsageError(
            f"{code(word)} is not a git SHA.",
            "Give 7 to 40 hex characters of the commit, e.g. `git rev-parse --short HEAD`.",
        )
    return word.lower()


def _usage_of(command: str) -> str:
    usage = _BY_NAME[command]
    return f"Usage: `{usage.usage}`, e.g. `{usage.example}`"


def _app_and_options(
    args: list[str], command: str, known: dict[str, str], usage: str
) -> tuple[str | None, dict[str, str]]:
    """An optional app name and `--flag value` / `--flag=value` options, in any order."""
    app: str | None = None
    options: dict[str, str] = {}
    words = list(args)
    while words:
        word = words.pop(0)
        flag, _, inline = word.partition("=")
        if flag in known:
            if not inline and not words:
                raise UsageError(f"{code(flag)} needs a value.", usage)
            options[known[flag]] = inline or words.pop(0)
        elif word.startswith("-") or app is not None:
            article = "an" if command[0] in "aeiou" else "a"
            raise UsageError(f"{code(word)} is not {article} {command} option.", usage)
        else:
            app = _app_name(word, command)
    return app, options


DIAGNOSE_OPTIONS = {"--branch": "branch", "--env": "environment", "--sha": "sha"}


def _diagnose(args: list[str]) -> Diagnose:
    usage = f"Usage: `{_BY_NAME['diagnose'].usage}`, e.g. `{_BY_NAME['diagnose'].example}`"
    app, options = _app_and_options(args, "diagnose", DIAGNOSE_OPTIONS, usage)
    if "sha" in options:
        options["sha"] = _sha(options["sha"], "diagnose")
    if "branch" in options and not BRANCH.fullmatch(options["branch"]):
        raise UsageError(f"{code(options['branch'])} is not a branch name.", usage)
    if "environment" in options and not ENVIRONMENT.fullmatch(options["environment"]):
        raise UsageError(f"{code(options['environment'])} is not an environment name.", usage)
    return Diagnose(app=app, **options)


AUDIT_OPTIONS = {"--user": "user", "--since": "since"}


def _audit(args: list[str]) -> Audit:
    usage = _usage_of("audit")
    app, options = _app_and_options(args, "audit", AUDIT_OPTIONS, usage)
    user = options.get("user")
    if user is not None:
        user = _user(user, usage)
    since = options.get("since")
    return Audit(app, user, parse_duration(since) if since is not None else None)


def _user(word: str, usage: str) -> str:
    mentioned = USER_MENTION.fullmatch(word)
    if mentioned is not None:
        return mentioned.group(1)
    if USER_ID.fullmatch(word):
        return word
    raise UsageError(
        f"{code(word, 100)} is not a Slack user.", f"Mention them (`@someone`). {usage}"
    )


def job_id(word: str) -> int:
    """A job number as people and buttons give it: `42` or `#42`."""
    return _job_id(word)


def _job_id(word: str) -> int:
    match = JOB_ID.fullmatch(word)  # ASCII digits only: int() would take `²` or full-width ones
    if match is None or int(match.group(1)) == 0:  # job ids count from 1
        raise UsageError(
            f"{code(word)} is not a job number.", f"Usage: `{_BY_NAME['cancel'].usage}`"
        )
    return int(match.group(1))


def _expect(name: str, args: list[str], least: int, most: int) -> None:
    if not least <= len(args) <= most:
        usage = _BY_NAME[name]
        raise UsageError(
            f"`{name}` takes {_count(least, most)}.",
            f"Usage: `{usage.usage}`, e.g. `{usage.example}`",
        )


def _count(least: int, most: int) -> str:
    if most == 0:
        return "no arguments"
    if least == most:
        return f"{least} argument{'s' if least > 1 else ''}"
    return f"{least} to {most} arguments"


def _usage_line() -> str:
    names = " | ".join(usage.name for usage in USAGES)
    return f"Usage: `/ecr {names}`. `/ecr help` explains each."
