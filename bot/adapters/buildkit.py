"""BuildKit builds through the `docker` CLI, on the engine DOCKER_HOST names.

docker-py speaks only the classic builder's API. BuildKit needs a client that serves the
build's session (context upload, secrets, cache import), which is what the CLI does. The CLI
runs as a child process with an argument list and a bounded environment; its plain progress
on stderr is read line by line. Cancel terminates it, and the engine stops the build when the
CLI's connection goes (tests/e2e/test_push_buildkit.py checks that no RUN process outlives it).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.adapters.build_secrets import Redactor, redactor, resolved_files, secret_values
from bot.domain.cancel import CancelToken
from bot.domain.errors import Cancelled, StepError, UsageError
from bot.domain.models import BuildSecret, Step
from bot.domain.ports import BuildSpec, BuiltImage
from bot.domain.text import code

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20  # build log lines kept for a failure's explanation
MAX_LINE = 2000  # characters kept of one log line
STOP_GRACE_S = 10.0  # after SIGTERM, how long the CLI has to cancel the build before SIGKILL
READ_CHUNK = 64 * 1024  # one read of the CLI's output; the rest of a longer line is dropped
# Variables the CLI may see: how to reach the engine (and through which proxy), where its
# config lives. Never the bot's Slack tokens, AWS credentials or database URL.
PASSED_ENV = (
    "PATH",
    "HOME",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "DOCKER_HOST",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
_VERTEX = re.compile(r"^#(\d{1,6}) (.*)$")
_STEP_NAME = re.compile(r"^\[(?:[^\]\s]{1,128} )?\d{1,6}/\d{1,6}\] ")
_DIGEST_LINE = re.compile(r"^#\d{1,6} sha256:[0-9a-f]{64}$")  # 20.10 prints each vertex's digest
_VERSION = re.compile(r"version (\d+)\.(\d+)")


class BuildKitCli:
    """Runs `docker build` with BuildKit; `docker_cli` None: the first CLI on PATH that can."""

    def __init__(
        self,
        docker_cli: str | None = None,
        docker_host: str | None = None,
        secrets_dir: Path | None = None,
    ) -> None:
        self._configured = docker_cli
        self._docker_host = docker_host
        # ECRBOT_BUILD_SECRETS_DIR: the catalog was checked against it at start; a file there
        # can change since (a symlink put in its place), so each build resolves it again.
        self._secrets_dir = secrets_dir

    def build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage:
        cli = self.cli()
        files = resolved_files(spec.secrets, self._secrets_dir)
        redact = redactor(secret_values(spec.secrets, files))
        with tempfile.TemporaryDirectory(prefix="ecrbot-build-") as scratch:
            iidfile = Path(scratch) / "image-id"
            arguments = self._arguments(spec, iidfile, files)
            args = [cli.path, "build", *arguments, "--", str(spec.context)]
            env = self._environment(spec.secrets)
            cancel.raise_if_cancelled()
            try:
                process = subprocess.Popen(  # an argument list, never a shell
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=spec.context,
                )
            except OSError as error:
                raise _cli_missing(cli.path, error) from error
            unregister = cancel.on_cancel(lambda: _stop(process))
            try:
                tail, steps = self._follow(process, on_line, redact)
                code_ = process.wait()
            except BaseException:
                process.kill()  # never leave a build running behind an error of ours
                process.wait()
                raise
            finally:
                unregister()
            if cancel.cancelled:
                raise Cancelled
            if code_ != 0:
                if spec.secrets:
                    # Slack gets step names only for such a build (domain/pipeline.py); the
                    # redacted tail is kept here, in the job's log.
                    log.warning("build with secrets failed; its last lines:\n%s", "\n".join(tail))
                raise StepError(Step.BUILD, _error_line(tail), tuple(tail))
            image_id = iidfile.read_text().strip() if iidfile.exists() else ""
        if not image_id:
            raise StepError(Step.BUILD, "the build ended without an image id", tuple(tail))
        return BuiltImage(image_id, steps.total, steps.cached)

    def cli(self) -> CliInfo:
        """The CLI builds run with (probed once per path and process)."""
        candidates = [self._configured] if self._configured else _on_path("docker")
        if not candidates:
            raise UsageError(
                "BuildKit builds need the `docker` CLI, and none is on the bot's PATH.",
                "Install it (Debian: `docker.io`, or the `docker-cli` of Docker's packages) or "
                "set `ECRBOT_DOCKER_CLI`; or set `builder: classic` for this app.",
            )
        # The first that can, probed in order: each probe runs the CLI once or twice.
        probed = []
        for path in candidates:
            info = _probe(path, self._docker_host)
            if info.buildkit:
                return info
            probed.append(info)
        # None usable: run the first anyway, and its own error explains what is missing.
        return probed[0]

    def _arguments(self, spec: BuildSpec, iidfile: Path, files: dict[str, str]) -> list[str]:
        args = ["--progress=plain", "--iidfile", str(iidfile)]
        args += ["--file", str(spec.context / spec.dockerfile), "--tag", spec.tag]
        for name, value in spec.buildargs.items():
            args += ["--build-arg", f"{name}={value}"]
        if spec.inline_cache:
            args += ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
        for name, value in spec.labels.items():
            args += ["--label", f"{name}={value}"]
        if spec.target:
            args += ["--target", spec.target]
        if spec.platforms:
            args += ["--platform", ",".join(spec.platforms)]
        for reference in spec.cache_from:
            args += ["--cache-from", reference]
        for secret in spec.secrets:
            # The file as resolved just now, so BuildKit reads what was checked.
            source = f"env={secret.env}" if secret.env else f"src={files[secret.id]}"
            args += ["--secret", f"id={secret.id},{source}"]
        return args

    def _environment(self, secrets: tuple[BuildSecret, ...]) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
        if self._docker_host:
            env["DOCKER_HOST"] = self._docker_host
        env["DOCKER_BUILDKIT"] = "1"
        for secret in secrets:  # only the variables the app's secrets name
            if secret.env:
                env[secret.env] = os.environ[secret.env]
        return env

    def _follow(
        self,
        process: subprocess.Popen[bytes],
        on_line: Callable[[str], None],
        redact: Redactor,
    ) -> tuple[deque[str], _Steps]:
        """Read the CLI's progress: every line to `on_line` (secrets redacted), the tail kept."""
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)  # a build may print millions of lines
        steps = _Steps()
        assert process.stderr is not None
        for line in _lines(process.stderr):
            if _DIGEST_LINE.match(line):
                continue
            # Every line is cut where a secret may be cut with it (the bounded read, MAX_LINE).
            line = redact.cut(line, MAX_LINE)
            steps.observe(line)
            tail.append(line)
            on_line(line)
        return tail, steps


class CliInfo:
    """A `docker` CLI: where it is, its version, and whether it can build with BuildKit."""

    def __init__(self, path: str, version: tuple[int, int], buildx: bool) -> None:
        self.path = path
        self.version = version
        self.buildx = buildx

    @property
    def buildkit(self) -> bool:
        # 19.03 to 22.x build with BuildKit themselves; from 23.0 on `docker build` needs buildx.
        return (19, 3) <= self.version < (23, 0) or self.buildx


class _Steps:
    """Counts the Dockerfile's steps in BuildKit's progress, and those that came from cache."""

    def __init__(self) -> None:
        self._steps: set[str] = set()
        self._cached: set[str] = set()

    def observe(self, line: str) -> None:
        vertex = _VERTEX.match(line)
        if vertex is None:
            return
        number, rest = vertex.groups()
        if _STEP_NAME.match(rest):
            self._steps.add(number)
        elif rest == "CACHED" and number in self._steps:
            self._cached.add(number)

    @property
    def total(self) -> int:
        return len(self._steps)

    @property
    def cached(self) -> int:
        return len(self._cached)


def _lines(stream: object) -> Iterator[str]:
    """Decoded lines, each read with a bound, so one endless line can't exhaust memory.

    Only a line's first READ_CHUNK bytes are kept: the rest is read and dropped, never yielded
    as a line of its own, where the end of a secret cut at the boundary would escape redaction
    (its start is redacted by `Redactor.cut`).
    """
    readline = stream.readline  # type: ignore[attr-defined]
    while True:
        raw = readline(READ_CHUNK)
        if not raw:
            return
        cut = not raw.endswith(b"\n")
        while cut:
            rest = readline(READ_CHUNK)
            cut = bool(rest) and not rest.endswith(b"\n")
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if text:
            yield text


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM makes the CLI cancel the build on the engine; SIGKILL if it does not exit."""

    def stop() -> None:
        try:
            process.terminate()
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
        except OSError:  # already gone
            pass

    # Off the canceller's thread: cancel must return at once.
    threading.Thread(target=stop, name="ecrbot-build-stop", daemon=True).start()


def _error_line(tail: deque[str]) -> str:
    """The CLI's closing error: its last line that is not progress or a log frame."""
    for line in reversed(tail):
        if line.strip() and line.strip() != "------" and not _VERTEX.match(line):
            return line.strip()
    return tail[-1] if tail else "the build failed without output"


def _on_path(name: str) -> list[str]:
    """Every executable called `name` on PATH, in order (not only the first)."""
    found: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = shutil.which(name, path=folder) if folder else None
        if path and os.path.realpath(path) not in {os.path.realpath(p) for p in found}:
            found.append(path)
    return found


@functools.cache
def _probe(path: str, docker_host: str | None) -> CliInfo:
    """The CLI's version and whether it has buildx (cached: a CLI doesn't change under us)."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    try:
        answer = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _cli_missing(path, error) from error
    match = _VERSION.search(answer.stdout)
    version = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    buildx = False
    if version >= (23, 0):
        try:
            buildx = (
                subprocess.run(
                    [path, "buildx", "version"], capture_output=True, timeout=10, env=env
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            buildx = False
    log.info("docker CLI %s: version %s.%s, buildx %s", path, *version, buildx)
    return CliInfo(path, version, buildx)


def _cli_missing(path: str, error: BaseException) -> UsageError:
    return UsageError(
        f"The docker CLI {code(path)} could not be run ({type(error).__name__}).",
        "Install the `docker` CLI on the bot's host or set `ECRBOT_DOCKER_CLI` to it; "
        "or set `builder: classic` for this app.",
    )
