"""`ecrbot push --sha X` builds the current directory only when it is commit X, unchanged."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.adapters.source import DirectorySource
from bot.domain.errors import UserError
from tests.fakes import app_spec


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
    env |= {"GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "--quiet", "-m", "v1")
    return tmp_path, git(tmp_path, "rev-parse", "HEAD")


def build_as(path: Path, sha: str) -> str:
    with DirectorySource(path).checkout(app_spec(), sha) as checkout:
        return checkout.full_sha


def test_the_checked_out_commit_builds_by_its_full_or_short_sha(repo: tuple[Path, str]) -> None:
    path, head = repo
    assert build_as(path, head) == head
    assert build_as(path, head[:7]) == head[:7]  # tagged as given, like the script


def test_another_sha_than_head_is_refused(repo: tuple[Path, str]) -> None:
    path, head = repo
    with pytest.raises(UserError, match="is not the checked-out commit: HEAD is"):
        build_as(path, "0" * 40 if not head.startswith("0") else "1" * 40)


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_a_dirty_tree_is_refused(repo: tuple[Path, str], change: str) -> None:
    path, head = repo
    target = path / ("Dockerfile" if change == "modified" else "extra.txt")
    target.write_text("RUN evil\n")
    with pytest.raises(UserError, match="uncommitted change"):
        build_as(path, head)


def test_a_directory_that_is_not_a_git_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a git checkout"):
        build_as(tmp_path, "1a2b3c4")
