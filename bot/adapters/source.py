"""App sources: a git mirror per app (for the bot) and the current directory (for the CLI)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.adapters.git_early import (
    FETCH,
    GIT_TIMEOUT_S,
    MIRROR_REFSPECS,
    EarlyFetches,
    git_env,
    mirror_path,
)
from bot.domain.bounded_yaml import LIMITS
from bot.domain.commit_diff import SUBJECT_CHARS, Between, Commit
from bot.domain.errors import SourceBusy, StepError, UserError
from bot.domain.models import SHA_PATTERN, AppSpec, Step
from bot.domain.ports import Checkout
from bot.domain.text import code, plain

FULL_SHA = re.compile(r"[0-9a-f]{40}")


class ShaNotFound(UserError):
    """The commit is not in the app's repository."""


class GitSource:
    """A bare mirror per app; commits are exported from it with `git archive`. Its refs are
    the branches and tags of the origin it last fetched from (`_origins`), which is trusted
    only while it is the catalog's `source`: otherwise the mirror fetches from that first."""

    def __init__(self, cache_dir: Path, early: EarlyFetches | None = None) -> None:
        self._cache_dir = cache_dir
        # The fetches the CLI started before its imports (git_early.py): waited for first.
        self._early = early
        self._origins: dict[Path, str | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @contextmanager
    def checkout(self, app: AppSpec, sha: str) -> Iterator[Checkout]:
        with self._lock(app.name):
            mirror = self._mirror(app)
            full_sha = self._resolve(app, mirror, sha)
            subject = _git(mirror, "log", "-1", "--format=%s", full_sha).strip()
        with tempfile.TemporaryDirectory(prefix=f"ecrbot-{app.name}-") as tmp:
            _export(mirror, full_sha, Path(tmp))
            yield Checkout(full_sha=full_sha, subject=subject, path=Path(tmp))

    def resolve(self, app: AppSpec, sha: str, within_s: float | None = None) -> str:
        """The full SHA of the one commit `sha` names in the app's repository (fetched first
        if unknown), or ShaNotFound. With `within_s`, SourceBusy once that time is up: the
        app's lock is waited for only that long, and a git child still running is killed,
        so a slow remote never keeps the lock (and the next lookups) past the deadline."""
        if within_s is None:
            with self._lock(app.name):
                return self._resolve(app, self._mirror(app), sha)
        deadline = time.monotonic() + within_s
        lock = self._lock(app.name)
        if not lock.acquire(timeout=within_s):
            raise SourceBusy(f"{app.name}'s repository is in use (a fetch or a checkout)")
        try:
            return self._resolve(app, self._mirror(app, deadline), sha, deadline)
        finally:
            lock.release()

    def workflow_files(self, app: AppSpec, branch: str) -> dict[str, bytes | None]:
        """The files under .github/workflows/ on `branch` (fetched first), by path: at most
        LIMITS.files are read (the rest map to None), each at most one byte past its limit."""
        with self._lock(app.name):
            mirror = self._mirror(app)
            self._fetch(app, mirror)
            ref = f"refs/heads/{branch}"
            if _rev_parse(mirror, ref) is None:
                raise ShaNotFound(
                    f"Branch {code(branch)} is not in {code(app.name)}'s repository.",
                    "Check `branch` in the catalog, or pass --branch.",
                )
            listing = _git(mirror, "ls-tree", "-r", "-z", ref, "--", ".github/workflows")
            blobs = sorted(
                (path, meta.split()[2])
                for meta, _, path in (entry.partition("\t") for entry in listing.split("\0"))
                if path.endswith((".yml", ".yaml")) and meta.split()[1:2] == ["blob"]
            )
            return {
                path: _read_blob(mirror, blob, LIMITS.file_bytes + 1) if i < LIMITS.files else None
                for i, (path, blob) in enumerate(blobs)
            }

    def between(self, app: AppSpec, old: str, new: str, limit: int) -> Between | None:
        """`CommitLog.between` over the mirror (fetched once if it lacks either commit). The
        SHAs come from ecrbot's records; each is still looked up by object id only."""
        with self._lock(app.name):
            mirror = self._mirror(app)
            try:
                old_sha, new_sha = (self._resolve(app, mirror, sha) for sha in (old, new))
            except ShaNotFound:
                return None
            ahead = f"{old_sha}..{new_sha}"
            total = int(_git(mirror, "rev-list", "--count", ahead).strip() or 0)
            behind = int(_git(mirror, "rev-list", "--count", f"{new_sha}..{old_sha}").strip() or 0)
            listed = _git(mirror, "log", f"--max-count={limit}", "--format=%H%x1f%s", ahead)
        commits = tuple(
            Commit(sha[:40], subject[:SUBJECT_CHARS])
            for sha, _, subject in (line.partition("\x1f") for line in listed.splitlines())
            if re.fullmatch(r"[0-9a-f]{40}", sha)
        )
        return Between(commits, max(total, len(commits)), behind)

    def _mirror(self, app: AppSpec, deadline: float | None = None) -> Path:
        mirror = mirror_path(self._cache_dir, app.name)
        if self._early is not None:
            self._early.settle(mirror, deadline)
        if (mirror / "HEAD").exists():
            url, refspecs = _origin(mirror)
            self._origins[mirror] = url
            if refspecs != MIRROR_REFSPECS:
                # Made by an earlier ecrbot with `clone --mirror` (every ref), or a clone that
                # was cut short before its refspecs were set: start again rather than trust it.
                shutil.rmtree(mirror)
        if not (mirror / "HEAD").exists():
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            # A bare clone takes branches and tags only, where `--mirror` takes every ref.
            args = ("clone", "--bare", "--quiet", "--", app.source, str(mirror))
            _git(None, *args, deadline=deadline)
            for refspec in MIRROR_REFSPECS:
                _git(mirror, "config", "--add", "remote.origin.fetch", refspec)
            self._origins[mirror] = app.source
        return mirror

    def _fetch(self, app: AppSpec, mirror: Path, deadline: float | None = None) -> None:
        """The app's branches and tags from the catalog's source, stale ones pruned."""
        if self._origins.get(mirror) != app.source:
            _git(mirror, "remote", "set-url", "origin", app.source)
            self._origins[mirror] = app.source
        _git(mirror, *FETCH, "origin", deadline=deadline)

    def _resolve(self, app: AppSpec, mirror: Path, sha: str, deadline: float | None = None) -> str:
        found = _commits_named(mirror, sha)
        # Refs fetched from another URL (the catalog's source changed, or an early fetch used
        # the mirror's old one) prove nothing about this source's branches: fetch from it.
        trusted = self._origins.get(mirror) == app.source
        if trusted and len(found) == 1 and _on_a_branch_or_tag(mirror, found[0]):
            return found[0]
        self._fetch(app, mirror, deadline)
        found = _commits_named(mirror, sha)
        if not found:
            raise ShaNotFound(
                f"Commit {code(sha)} is not in {code(app.name)}'s repository "
                f"({plain(_redact(app.source))}).",
                "Check the SHA (`git rev-parse HEAD` in your checkout) and that it is pushed.",
            )
        if len(found) > 1:
            raise ShaNotFound(
                f"{code(sha)} names {len(found)} commits in {code(app.name)}'s repository.",
                "Give more characters of the SHA (`git rev-parse HEAD` prints all 40).",
            )
        if not _on_a_branch_or_tag(mirror, found[0]):
            # An object the mirror holds is not enough: a local clone copies unreachable ones,
            # and a force-push leaves the old commits behind until git gc.
            raise ShaNotFound(
                f"Commit {code(sha)} is on none of {code(app.name)}'s branches or tags "
                f"({plain(_redact(app.source))}).",
                "Push it to a branch of the app's repository first: commits that only a pull "
                "request from a fork holds are never built.",
            )
        return found[0]

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())


class DirectorySource:
    """The CLI's source: the current directory as it is, like `ecr-build-push.sh`."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @contextmanager
    def checkout(self, app: AppSpec, sha: str) -> Iterator[Checkout]:
        """The directory, only if it is commit `sha` exactly: the image gets `sha` as its tag
        and revision label, so a directory that is not that commit must not claim to be it."""
        head = _run_git(self._path, "rev-parse", "--verify", "--quiet", "HEAD")
        full = head.stdout.strip()
        if head.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", full):
            raise UserError(
                f"{code(str(self._path))} is not a git checkout with a commit, so it can't be "
                f"built as {code(sha)}.",
                "Run `ecrbot push` in the app's git checkout, at the commit you name in --sha.",
            )
        if not full.startswith(sha):
            raise UserError(
                f"--sha {code(sha)} is not the checked-out commit: HEAD is {code(full[:12])}.",
                "Check out that commit, or pass `--sha $(git rev-parse HEAD)`.",
            )
        status = _run_git(self._path, "status", "--porcelain")
        if status.returncode != 0 or status.stdout.strip():
            changed = len(status.stdout.splitlines())
            raise UserError(
                f"The working tree has {changed} uncommitted change(s), so it is not commit "
                f"{code(sha)}.",
                "Commit or stash them (`git status` lists them), then push again.",
            )
        yield Checkout(full_sha=sha, subject="", path=self._path)


def _on_a_branch_or_tag(mirror: Path, commit: str) -> bool:
    listed = _run_git(
        mirror, "for-each-ref", "--count=1", "--format=%(refname)", "--contains", commit,
        "refs/heads", "refs/tags",
    )  # fmt: skip
    return listed.returncode == 0 and bool(listed.stdout.strip())


def _origin(mirror: Path) -> tuple[str | None, tuple[str, ...]]:
    """The mirror's origin: its URL and fetch refspecs, in one read of its config."""
    listed = _run_git(mirror, "config", "-z", "--get-regexp", r"^remote\.origin\.(url|fetch)$")
    url, refspecs = None, []
    for entry in listed.stdout.split("\0") if listed.returncode == 0 else ():
        key, _, value = entry.partition("\n")
        if key == "remote.origin.url":
            url = value
        elif key == "remote.origin.fetch":
            refspecs.append(value)
    return url, tuple(refspecs)


def _rev_parse(mirror: Path, ref: str) -> str | None:
    """A ref (a branch) to its commit; never used for what users give as a SHA."""
    result = _run_git(mirror, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    found = result.stdout.strip()
    return found if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", found) else None


def _commits_named(mirror: Path, sha: str) -> list[str]:
    """The commits whose object id starts with `sha`.

    Only object ids count. `git rev-parse 357acf3` would prefer a branch or tag *named* 357acf3
    (gitrevisions(7): refs come before abbreviated ids), so anyone who can push a branch could
    make a pusher build their commit; `--disambiguate` lists objects by id alone.
    """
    if not SHA_PATTERN.fullmatch(sha):
        raise ShaNotFound(
            f"{code(sha)} is not a commit SHA.",
            "Give 7 to 40 lowercase hex characters, e.g. `git rev-parse --short HEAD`.",
        )
    # All 40 digits name one object at most: git reads them as its id, never as a ref's name
    # (and the answer is checked against them below); a prefix is listed by id alone.
    full = FULL_SHA.fullmatch(sha) is not None
    listed = [sha]
    if not full:
        listed = _run_git(mirror, "rev-parse", f"--disambiguate={sha}").stdout.split()
    if not listed:
        return []
    with subprocess.Popen(
        ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        cwd=mirror,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=git_env(),
    ) as proc:
        out, _ = proc.communicate("\n".join(listed) + "\n", timeout=GIT_TIMEOUT_S)
    return [
        name
        for name, _, kind in (line.partition(" ") for line in out.splitlines())
        if kind == "commit" and FULL_SHA.fullmatch(name) and (name == sha or not full)
    ]


def _read_blob(mirror: Path, blob: str, limit: int) -> bytes:
    """At most `limit` bytes of a blob: a huge file in a repository costs no more than that."""
    with subprocess.Popen(
        ["git", "cat-file", "blob", blob],
        cwd=mirror,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=git_env(),
    ) as proc:
        assert proc.stdout is not None
        data = proc.stdout.read(limit)
        proc.kill()
    return data


def _export(mirror: Path, full_sha: str, dest: Path) -> None:
    """`git archive | tar -x`: the bytes never pass through Python (a checkout used to hold
    the GIL for tens of milliseconds, which every slash command acknowledged meanwhile paid).
    GNU tar refuses members with `..`, strips a leading `/` and never writes through a
    symlink, and any member it refuses fails the checkout."""
    with subprocess.Popen(
        ["git", "archive", "--format=tar", full_sha],
        cwd=mirror,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=git_env(),
    ) as archive:
        try:
            extract = subprocess.run(
                ["tar", "-x", "--no-same-owner", "--no-same-permissions", "-C", str(dest)],
                stdin=archive.stdout,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            archive.kill()
            raise StepError(Step.CHECKOUT, "git archive | tar timed out") from error
    if archive.returncode != 0:
        raise StepError(Step.CHECKOUT, f"git archive failed for {full_sha[:12]}")
    if extract.returncode != 0:
        problem = _redact(extract.stderr.decode(errors="replace").strip())[-500:]
        raise StepError(Step.CHECKOUT, f"unpacking the commit failed: {problem}")


def _run_git(
    cwd: Path | None, *args: str, deadline: float | None = None
) -> subprocess.CompletedProcess[str]:
    """git in its own process group, so a timeout kills it and whatever it started (a
    remote helper, ssh, upload-pack), not just the git process."""
    timeout = GIT_TIMEOUT_S if deadline is None else max(0.0, deadline - time.monotonic())
    with subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",  # paths and messages in a repository need not be UTF-8
        env=git_env(),
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            _kill_group(proc)
            if deadline is not None:
                raise SourceBusy(f"git {args[0]} did not finish in time; stopped") from error
            raise StepError(Step.CHECKOUT, f"git {args[0]} timed out") from error
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()  # reap it and close its pipes


def _git(cwd: Path | None, *args: str, deadline: float | None = None) -> str:
    result = _run_git(cwd, *args, deadline=deadline)
    if result.returncode != 0:
        command = next(arg for arg in args if not arg.startswith("-") and "=" not in arg)
        raise StepError(Step.CHECKOUT, f"git {command} failed: {_redact(result.stderr.strip())}")
    return result.stdout


def _redact(text: str) -> str:
    """Drop credentials embedded in URLs (https://user:token@host) before text is shown."""
    return re.sub(r"(https?://)[^/@\s]+@", r"\1***@", text)
