"""The `ecrbot` command line: help for every command, argparse's usage errors (exit 2), and
`push` keeping ecr-build-push.sh's flags, wording and exit code 1. Adapters are injected."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import __version__
from bot.bootstrap import CliAdapters
from bot.config import Settings
from bot.domain.models import Job, JobState, RegistrySpec
from bot.domain.ports import Engine, Registry, Source
from bot.entrypoints import arguments
from bot.entrypoints.cli import main
from bot.render import job_list as jobs
from tests.fakes import HOST, SHA, FakeEngine, FakeRegistry, FakeSource

# Commands whose parser is ours; the delegated ones (worker, db, console) parse for themselves.
OURS = ("serve", "push", "promote", "diagnose", "report", "jobs", "audit", "version", "help")


@dataclass(frozen=True)
class FakeAdapters(CliAdapters):
    """The CLI's adapters on fakes: the directory being pushed is a FakeSource."""

    tmp: Path = Path()
    fake_engine: FakeEngine = field(default_factory=FakeEngine)
    registries: list[RegistrySpec] = field(default_factory=list)

    def engine(self) -> Engine:
        return self.fake_engine

    def registry(self, spec: RegistrySpec) -> Registry:
        self.registries.append(spec)
        return FakeRegistry(self.fake_engine)

    def directory(self, path: Path) -> Source:
        return FakeSource(self.tmp)


def settings() -> Settings:
    return Settings(database_url="sqlite:///never-opened.db")


def run(argv: list[str], tmp_path: Path | None = None) -> tuple[int, FakeAdapters | None]:
    made: list[FakeAdapters] = []

    def adapters(loaded: Settings) -> CliAdapters:
        made.append(FakeAdapters(loaded, tmp=tmp_path or Path()))
        return made[-1]

    code = main(argv, settings=settings, adapters=adapters)
    return code, made[0] if made else None


# -- help -------------------------------------------------------------------------------------


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    _, commands = arguments.build()
    for argv in (["--help"], ["-h"], ["help"], []):
        assert run(argv)[0] == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: ecrbot")
        for name in commands:
            assert f"\n    {name} " in out, (argv, name)
    assert set(commands) == {*OURS, *arguments.DELEGATED}


@pytest.mark.parametrize("command", [c for c in OURS if c != "help"])
def test_every_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([command, "--help"]) == (0, None)  # nothing is built to print help
    out = capsys.readouterr().out
    assert out.startswith(f"usage: ecrbot {command}")
    assert run(["help", command])[0] == 0
    assert capsys.readouterr().out == out


def test_push_help_shows_both_forms_and_the_scripts_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["push", "--help"])[0] == 0
    out = capsys.readouterr().out
    assert "usage: ecrbot push --registry <account>.dkr.ecr.<region>.amazonaws.com" in out
    assert "   or: ecrbot push --app <app> --sha <sha>" in out
    for flag in ("--registry", "--name", "--sha", "--version", "--region", "--app"):
        assert f"  {flag} " in out
    assert "130" in out and "ecr-build-push.sh" in out


def test_jobs_and_diagnose_help_name_their_options(capsys: pytest.CaptureFixture[str]) -> None:
    run(["jobs", "--help"])
    out = capsys.readouterr().out
    assert "--limit N" in out and "--format {text,json}" in out
    run(["diagnose", "--help"])
    out = capsys.readouterr().out
    for option in ("--branch", "--env", "--sha", "--format", "app"):
        assert option in out


def test_a_delegated_command_gets_every_word_including_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["console", "--help"])[0] == 0
    assert capsys.readouterr().out.startswith("Usage: ecrbot console [--sandbox]")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--version"], ["version"]):
        assert run(argv)[0] == 0
        assert capsys.readouterr().out.strip() == __version__


def test_only_diagnose_keeps_the_garbage_collector_off() -> None:
    # `entry` turns it off for the start-up; serve, worker, console and the rest run with it.
    try:
        for argv, kept_off in ((["diagnose", "My_App"], True), (["version"], False)):
            gc.disable()
            run(argv)
            assert gc.isenabled() is not kept_off
    finally:
        gc.enable()


# -- usage errors: argparse's exit 2 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["bogus"], "ecrbot: error: argument <command>: invalid choice: 'bogus'"),
        (["--colour"], "ecrbot: error: unrecognized arguments: --colour"),
        (["serve", "now"], "ecrbot serve: error: unrecognized arguments: now"),
        (["report", "--format", "pdf"], "ecrbot report: error: argument --format: invalid"),
        (["jobs", "--limit", "0"], "ecrbot jobs: error: argument --limit: takes a number"),
        (["jobs", "--limit", "1001"], "argument --limit: takes a number from 1 to 1000"),
        (["jobs", "--limit", "²"], "argument --limit: takes a number"),
        (["jobs", "--format"], "ecrbot jobs: error: argument --format: expected one argument"),
        (["diagnose", "a", "b"], "ecrbot diagnose: error: unrecognized arguments: b"),
        (["diagnose", "--bran", "main"], "unrecognized arguments: --bran"),  # no abbreviations
        (["help", "nope"], "ecrbot help: error: no command 'nope'"),
    ],
)
def test_usage_errors_exit_2_with_the_commands_usage(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == (2, None)
    err = capsys.readouterr().err
    assert said in err
    assert err.startswith("usage: ecrbot")


def test_diagnose_words_go_through_the_ecr_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, said in (
        (["diagnose", "My_App"], "`My_App` is not an app name."),
        (["diagnose", "my-app", "--sha", "main"], "`main` is not a git SHA."),
        (["diagnose", "my-app", "--branch=a..b"], "`a..b` is not a branch name."),
    ):
        assert run(argv)[0] == 2
        assert capsys.readouterr().err.startswith(f"Error: {said}")


def test_bad_settings_are_said_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> Settings:
        return Settings.model_validate({"ECRBOT_WORKERS": "0"})

    assert main(["jobs"], settings=broken) == 2
    assert capsys.readouterr().err.startswith("Error: ECRBOT_WORKERS:")


# -- push: the script's flags, words and exit code 1 ------------------------------------------

USAGE = "Usage: ecrbot push --registry <account>.dkr.ecr.<region>.amazonaws.com"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--registry", HOST, "--sha", "1a2b3c4", "--colour", "red"], "Unknown option: --colour"),
        (["--reg", HOST, "--name", "n", "--sha", "1a2b3c4"], "Unknown option: --reg"),
        (["--registry", HOST, "--name", "n", "now"], "Unknown option: now"),
        (["--registry", HOST, "--name", "n", "--sha"], "Option --sha needs a value"),
        (["--name", "my-app", "--sha", "1a2b3c4"], "Missing required option: --registry"),
        (["--registry", HOST, "--name", "my-app"], "Missing required option: --sha"),
        (["--registry", HOST, "--sha", "1a2b3c4"], "Missing required option: --name"),
        (["--registry", HOST, "--name", "n", "--sha", "main"], "--sha 'main' is not a git SHA"),
        (
            ["--registry", "example.com", "--name", "n", "--sha", "1a2b3c4", "--region", "x"],
            "example.com is not an ECR registry host",
        ),
    ],
)
def test_push_usage_errors_are_the_scripts(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["push", *argv])[0] == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {said}")
    assert USAGE in err


def test_push_builds_with_the_scripts_flags_and_the_bootstrap_adapters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--version` after `push` is the image's version, not the program's.
    argv = ["push", "--registry", f"https://{HOST}/", "--name=my-app", "--sha", "1A2B3C4"]
    code, adapters = run([*argv, "--version", "1.4.0"], tmp_path)

    assert code == 0, capsys.readouterr().err
    assert adapters is not None
    assert adapters.registries == [RegistrySpec("123456789012", "eu-west-2")]  # from the host
    assert [tag for _, tag, _ in adapters.fake_engine.pushes] == [SHA]  # 1.4.0: by digest
    out = capsys.readouterr().out
    assert f"Pushed {HOST}/my-app:{SHA}\n" in out and f"Pushed {HOST}/my-app:1.4.0\n" in out
    assert "Digest sha256:" in out
    assert adapters.executors.closed  # the command's pools end with it


def test_push_region_flag_wins_over_the_host(tmp_path: Path) -> None:
    argv = ["push", "--registry", HOST, "--name", "my-app", "--sha", "1a2b3c4"]
    code, adapters = run([*argv, "--region=us-east-1"], tmp_path)
    assert code == 0 and adapters is not None
    assert adapters.registries == [RegistrySpec("123456789012", "us-east-1")]


# -- jobs: what a terminal is shown -----------------------------------------------------------


def test_the_jobs_table_shows_no_escape_sequence_and_json_keeps_the_value() -> None:
    created = datetime(2026, 5, 1, 9, 0, 3, tzinfo=UTC)
    hostile = Job(7, "my-app", "1a2b3c4", "1.0\x1b[2J", "U0ALICE", None, JobState.QUEUED, created)

    table = jobs.as_table([hostile])

    assert "\x1b" not in table and "1.0?[2J" in table
    assert "2026-05-01 09:00:03" in table
    assert jobs.as_json([hostile]).count("\\u001b[2J") == 1  # JSON escapes it; the value stays
