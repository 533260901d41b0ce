"""The fetch `ecrbot push --app` starts before its imports (git_early.py), on real repositories:
it only warms the mirror, and the refs of any origin but the catalog's prove nothing."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bot.adapters.git_early import EarlyFetches, mirror_path
from bot.adapters.source import GitSource, ShaNotFound
from bot.domain.models import AppSpec
from tests.e2e.harness import git


def _commit(path: Path, text: str) -> str:
    (path / "Dockerfile").write_text(f"FROM scratch\nLABEL text={text}\n")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", text)
    return git(path, "rev-parse", "HEAD")


def _repo(path: Path) -> tuple[AppSpec, str]:
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    first = _commit(path, f"first in {path.name}")  # two repositories, two commits
    return AppSpec(name="app", source=f"file://{path}", repository="app"), first


def test_the_early_fetch_brings_the_commit_and_the_checkout_fetches_no_more(
    tmp_path: Path,
) -> None:
    app, first = _repo(tmp_path / "app")
    cache = tmp_path / "cache"
    assert not EarlyFetches().start(cache, app.name, first)  # no mirror yet: nothing to warm
    assert GitSource(cache).resolve(app, first) == first
    assert not EarlyFetches().start(cache, app.name, first)  # the mirror holds it already
    new = _commit(tmp_path / "app", "new")

    fetches = EarlyFetches()
    assert fetches.start(cache, app.name, new)
    fetches.settle(mirror_path(cache, app.name))
    # The source is gone: a second fetch would fail, so the commit is the early fetch's.
    shutil.move(tmp_path / "app", tmp_path / "gone")
    with GitSource(cache, early=fetches).checkout(app, new) as checkout:
        assert checkout.full_sha == new and checkout.subject == "new"
        assert "text=new" in (checkout.path / "Dockerfile").read_text()


def test_a_checkout_waits_for_the_early_fetch_it_did_not_see_end(tmp_path: Path) -> None:
    app, first = _repo(tmp_path / "app")
    cache = tmp_path / "cache"
    GitSource(cache).resolve(app, first)
    new = _commit(tmp_path / "app", "new")
    fetches = EarlyFetches()
    assert fetches.start(cache, app.name, new)
    assert GitSource(cache, early=fetches).resolve(app, new[:12]) == new
    fetches.stop()  # nothing left to stop


@pytest.mark.parametrize("early", [True, False])
def test_refs_fetched_from_an_earlier_source_prove_nothing(tmp_path: Path, early: bool) -> None:
    """The catalog moved the app to another repository: a commit on the old one's branches is
    not the app's, whether the mirror held it before or the early fetch (which fetches from
    the mirror's stored origin, the old one) brought it."""
    old, _ = _repo(tmp_path / "old")
    new_source, _ = _repo(tmp_path / "new")
    cache = tmp_path / "cache"
    GitSource(cache).resolve(old, git(tmp_path / "old", "rev-parse", "HEAD"))
    if early:
        only_old = _commit(tmp_path / "old", "only on the old repository")
        fetches = EarlyFetches()
        assert fetches.start(cache, "app", only_old)
    else:
        only_old = git(tmp_path / "old", "rev-parse", "HEAD")
        fetches = None
    source = GitSource(cache, early=fetches)
    with pytest.raises(ShaNotFound):
        source.resolve(new_source, only_old)
    theirs = git(tmp_path / "new", "rev-parse", "HEAD")
    assert source.resolve(new_source, theirs) == theirs


def test_a_ref_named_like_a_full_sha_does_not_replace_the_commit(tmp_path: Path) -> None:
    app, first = _repo(tmp_path / "app")
    second = _commit(tmp_path / "app", "second")
    git(tmp_path / "app", "branch", first, second)  # all 40 digits, pointing elsewhere
    with GitSource(tmp_path / "cache").checkout(app, first) as checkout:
        assert checkout.full_sha == first
        assert "text=first in app" in (checkout.path / "Dockerfile").read_text()


@pytest.mark.parametrize("how", ["stopped at exit", "past the deadline"])
def test_an_early_fetch_that_hangs_is_stopped_with_what_it_started(
    tmp_path: Path, how: str
) -> None:
    app, first = _repo(tmp_path / "app")
    cache = tmp_path / "cache"
    GitSource(cache).resolve(app, first)
    mirror = mirror_path(cache, app.name)
    # A remote that never answers: git's `ext::` transport runs a command as the remote.
    git(mirror, "config", "protocol.ext.allow", "always")
    git(mirror, "config", "remote.origin.url", "ext::sleep 67.25")
    fetches = EarlyFetches()
    assert fetches.start(cache, app.name, "a" * 40)
    started = time.monotonic()
    if how == "stopped at exit":
        fetches.stop()
    else:
        fetches.settle(mirror, deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 5
    sleeping = subprocess.run(["pgrep", "-f", "sleep 67.25$"], capture_output=True, text=True)
    assert sleeping.stdout == ""  # the remote's command went with git
