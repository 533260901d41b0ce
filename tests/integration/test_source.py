"""The git adapter on real repositories: a SHA names a commit object, never a ref."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from bot.adapters.source import GitSource, ShaNotFound
from bot.domain.models import AppSpec
from tests.e2e.harness import git


def _repo(path: Path) -> tuple[AppSpec, list[str]]:
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    shas = []
    for n in range(2):
        (path / "Dockerfile").write_text(f"FROM scratch\nLABEL n={n}\n")
        git(path, "add", "-A")
        git(path, "commit", "--quiet", "-m", f"commit {n}")
        shas.append(git(path, "rev-parse", "HEAD"))
    return AppSpec(name="app", source=str(path), repository="app"), shas


def test_a_branch_named_like_a_short_sha_does_not_replace_the_commit(tmp_path: Path) -> None:
    app, (first, second) = _repo(tmp_path / "app")
    # An attacker who can push a branch names it after the pusher's commit.
    git(tmp_path / "app", "branch", first[:7], second)
    git(tmp_path / "app", "tag", first[:8], second)
    source = GitSource(tmp_path / "cache")
    for given in (first[:7], first[:8], first):
        with source.checkout(app, given) as checkout:
            assert checkout.full_sha == first
            assert "LABEL n=0" in (checkout.path / "Dockerfile").read_text()


@pytest.mark.parametrize(
    "given", ["main", "HEAD", "HEAD~1", "latest", "1a2b3c4\n", "@{-1}", "--all", "ABC1234X", ""]
)
def test_refs_and_non_hex_are_never_a_sha(tmp_path: Path, given: str) -> None:
    app, _ = _repo(tmp_path / "app")
    with (
        pytest.raises(ShaNotFound, match="not a commit SHA"),
        GitSource(tmp_path / "cache").checkout(app, given),
    ):
        pass


def test_an_ambiguous_prefix_asks_for_more_characters(tmp_path: Path) -> None:
    # 40,000 empty commits written with fast-import: a few of them share 7 leading hex digits
    # (the commits are deterministic, so the same ones every run).
    path = tmp_path / "many"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    stream = []
    for i in range(40_000):
        stream.append(
            f"commit refs/heads/main\nmark :{i + 1}\ncommitter a <a@b> 1700000000 +0000\n"
            f"data {len(str(i))}\n{i}\n" + (f"from :{i}\n" if i else "") + "\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input="".join(stream), text=True, check=True
    )
    prefixes = Counter(sha[:7] for sha in git(path, "rev-list", "main").split())
    shared = next(prefix for prefix, n in prefixes.items() if n > 1)
    app = AppSpec(name="many", source=str(path), repository="many")
    with (
        pytest.raises(ShaNotFound, match="names 2 commits") as raised,
        GitSource(tmp_path / "cache").checkout(app, shared),
    ):
        pass
    assert "more characters" in raised.value.next_step


@pytest.mark.parametrize(
    ("over", "said"),
    # A local path's clone copies every object, reachable or not; git's protocol sends only
    # what the refs reach. Neither may build the outsider's commit.
    [("path", "on none of `app`'s branches or tags"), ("file://", "is not in `app`'s")],
)
def test_a_commit_only_a_pull_request_ref_holds_is_not_the_apps(
    tmp_path: Path, over: str, said: str
) -> None:
    app, (first, second) = _repo(tmp_path / "app")
    if over == "file://":
        app = AppSpec(name="app", source=f"file://{tmp_path / 'app'}", repository="app")
    # On GitHub, anyone can open a pull request from a fork: its commits sit under refs/pull/.
    path = tmp_path / "app"
    (path / "Dockerfile").write_text("FROM scratch\nLABEL from=fork\n")
    git(path, "commit", "--quiet", "-am", "an outsider's change")
    outsider = git(path, "rev-parse", "HEAD")
    git(path, "update-ref", "refs/pull/7/head", outsider)
    git(path, "reset", "--quiet", "--hard", second)
    source = GitSource(tmp_path / "cache")
    with pytest.raises(ShaNotFound, match=said) as raised:
        source.resolve(app, outsider)
    assert "fork" in raised.value.next_step or "pushed" in raised.value.next_step
    assert source.resolve(app, first) == first  # the app's own branches still are


def test_a_mirror_of_every_ref_from_an_earlier_version_is_made_again(tmp_path: Path) -> None:
    app, (first, _) = _repo(tmp_path / "app")
    path = tmp_path / "app"
    (path / "Dockerfile").write_text("FROM scratch\nLABEL from=fork\n")
    git(path, "commit", "--quiet", "-am", "an outsider's change")
    outsider = git(path, "rev-parse", "HEAD")
    git(path, "update-ref", "refs/pull/7/head", outsider)
    git(path, "reset", "--quiet", "--hard", first)
    cache = tmp_path / "cache"
    cache.mkdir()
    # What ecrbot made before: `clone --mirror`, every ref (and the fork's commit) in it.
    git(cache, "clone", "--mirror", "--quiet", str(path), "app.git")
    source = GitSource(cache)
    with pytest.raises(ShaNotFound):
        source.resolve(app, outsider)
    assert source.resolve(app, first) == first
