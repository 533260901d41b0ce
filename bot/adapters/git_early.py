"""`ecrbot push --app`'s git fetch, started before the process has loaded anything else.

A CLI process spends about 0.4 s on its interpreter, imports (pydantic, boto3, docker), settings
and catalog before the checkout's fetch would start, and the fetch is the longest step before the
build (issue #19). Its mirror and the URL it fetches from need none of that: the mirror is
`<work dir>/sources/<app>.git` and holds its origin's URL. So the fetch starts first, with the
mirror's own branches-and-tags refspecs given on the command line, and `GitSource` waits for it
before it touches the mirror. That fetch proves nothing: `GitSource` still checks, with the
catalog's URL, that the commit is on one of the app's branches or tags, and fetches again
whenever the mirror's origin is not the catalog's (source.py).

Standard library only: this module is imported before everything else.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

# What a mirror fetches: the app's branches and tags, nothing else. `clone --mirror` would
# take every ref, and on GitHub that includes refs/pull/*/head, where anyone may put commits by
# opening a pull request from a fork: a SHA given to /ecr push must name a commit of the app's
# own repository, never an outsider's (its build gets the app's build secrets).
MIRROR_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
# Never prompt for credentials: the bot has no terminal and must fail fast instead.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
# Keep what arrives as a pack: unpacking a push's few objects to loose ones recompresses each
# (about 0.2 s for an 8 MB layer's file); git gc packs them anyway.
FETCH = ("-c", "fetch.unpackLimit=1", "fetch", "--prune", "--quiet")
GIT_TIMEOUT_S = 300
STOP_GRACE_S = 2.0  # for a fetch nobody waited for to end on SIGTERM (git removes its temp files)


def mirror_path(cache_dir: Path, app_name: str) -> Path:
    """Where an app's mirror is: one bare repository per app under the cache directory."""
    return cache_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', app_name)}.git"


def git_env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV}


class EarlyFetches:
    """The fetches this process started early, by mirror; each is waited for once."""

    def __init__(self) -> None:
        self._running: dict[Path, subprocess.Popen[bytes]] = {}
        self._guard = threading.Lock()

    def start(self, cache_dir: Path, app_name: str, sha: str) -> bool:
        """Fetch into the app's mirror from its origin, in the background, unless there is no
        mirror yet or it already holds an object `sha` names. True when a fetch started."""
        mirror = mirror_path(cache_dir, app_name)
        if not (mirror / "HEAD").is_file() or _holds(mirror, sha):
            return False
        try:
            fetch = subprocess.Popen(
                ["git", *FETCH, "origin", *MIRROR_REFSPECS],
                cwd=mirror,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # GitSource fetches again, and says what fails
                env=git_env(),
                start_new_session=True,  # a group of its own: stopped with what it started
            )
        except OSError:
            return False
        with self._guard:
            if not self._running:
                atexit.register(self.stop)
            self._running[_key(mirror)] = fetch
        return True

    def settle(self, mirror: Path, deadline: float | None = None) -> None:
        """Wait for the early fetch into `mirror`, if any, to end; one still running at the
        deadline is stopped (the caller fetches itself). Never raises: the fetch only warms."""
        with self._guard:
            fetch = self._running.pop(_key(mirror), None)
        if fetch is None:
            return
        timeout = GIT_TIMEOUT_S if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            fetch.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(fetch, signal.SIGKILL)

    def stop(self) -> None:
        """At exit: a fetch nobody waited for (the command failed first) is stopped."""
        with self._guard:
            running, self._running = list(self._running.values()), {}
        for fetch in running:
            if fetch.poll() is None:
                _stop(fetch, signal.SIGTERM)


# The process's early fetches: started by the launcher (bootstrap/early.py), waited for by the
# GitSource the CLI's composition root builds.
EARLY = EarlyFetches()


def _holds(mirror: Path, sha: str) -> bool:
    """Whether the mirror has an object by that name (a hint only: GitSource decides)."""
    try:
        found = subprocess.run(
            ["git", "cat-file", "-e", sha],
            cwd=mirror,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=git_env(),
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def _stop(fetch: subprocess.Popen[bytes], how: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(fetch.pid, how)
    try:
        fetch.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(fetch.pid, signal.SIGKILL)
        fetch.wait()


def _key(mirror: Path) -> Path:
    return Path(os.path.abspath(mirror))
