"""ECRBOT_WORK_DIR: the user's data directory by default, never the working directory (`ecrbot
push` runs inside an app's checkout, whose build context would carry the mirrors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("ECRBOT_WORK_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def test_the_default_is_the_users_data_directory(home: Path) -> None:
    work = Settings().work_dir
    assert work == home / ".local" / "share" / "ecrbot"
    assert work.is_absolute() and not work.is_relative_to(Path.cwd() / ".ecrbot")


def test_xdg_data_home_is_followed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    assert Settings().work_dir == home / "data" / "ecrbot"


def test_a_relative_xdg_data_home_is_ignored_as_the_spec_says(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "data")
    assert Settings().work_dir == home / ".local" / "share" / "ecrbot"


def test_ecrbot_work_dir_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("ECRBOT_WORK_DIR", "/home/ecrbot/work")
    assert Settings().work_dir == Path("/home/ecrbot/work")
