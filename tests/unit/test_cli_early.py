"""Which command lines start their mirror's fetch before the imports (bootstrap/early.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.git_early import EarlyFetches
from bot.bootstrap.early import start_push_fetch
from bot.config_dirs import user_data_dir

SHA = "0123456789abcdef0123456789abcdef01234567"


class Recorded(EarlyFetches):
    """Records what would be fetched; starts nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[tuple[Path, str, str]] = []

    def start(self, cache_dir: Path, app_name: str, sha: str) -> bool:
        self.started.append((cache_dir, app_name, sha))
        return True


def started(argv: list[str], environ: dict[str, str] | None = None) -> list[tuple[Path, str, str]]:
    fetches = Recorded()
    env = {"ECRBOT_WORK_DIR": "/work"} if environ is None else environ
    assert start_push_fetch(argv, env, fetches) is bool(fetches.started)
    return fetches.started


def test_a_catalog_apps_push_fetches_its_mirror_under_the_work_dir() -> None:
    assert started(["push", "--app", "web", "--sha", SHA, "--version", "1.0.0"]) == [
        (Path("/work/sources"), "web", SHA)
    ]


def test_flags_are_read_as_argparse_reads_them() -> None:
    argv = ["push", "--app=old", "--sha=ABCDEF1", "--app", "web"]
    assert started(argv) == [(Path("/work/sources"), "web", "abcdef1")]  # the last one wins
    assert started(["push", "--sha", SHA, "--", "--app", "web"]) == []


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["diagnose", "--app", "web", "--sha", SHA],
        ["push", "--registry", "1.dkr.ecr.eu-west-2.amazonaws.com", "--name", "web", "--sha", SHA],
        ["push", "--app", "web"],
        ["push", "--app", "web", "--sha", "main"],
        ["push", "--app", "web", "--sha", "abc12"],
        ["push", "--app", "--sha", SHA],
        ["push", "--sha", SHA, "--app"],
    ],
)
def test_anything_else_starts_nothing(argv: list[str]) -> None:
    assert started(argv) == []


def test_the_work_dir_is_the_settings_one_or_none_is_guessed() -> None:
    argv = ["push", "--app", "web", "--sha", SHA]
    assert started(argv, {}) == [(user_data_dir() / "sources", "web", SHA)]
    # The settings read any case of the name, and an empty value is theirs to judge.
    assert started(argv, {"ecrbot_work_dir": "/elsewhere"}) == []
    assert started(argv, {"ECRBOT_WORK_DIR": "/work", "Ecrbot_Work_Dir": "/x"}) == []
    assert started(argv, {"ECRBOT_WORK_DIR": ""}) == []
