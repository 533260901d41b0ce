"""The bot as a real process, a sample app as a real git repository, and the test services."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES_ENV = ROOT / "var/test-services.env"
ACCOUNT = "123456789012"
REGION = "eu-west-2"
SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e-bot-token-0123456789"
APP_TOKEN = "xapp-1-e2e-app-token-0123456789"
ADMIN_GROUP, APP_TEAM_GROUP = "S0PLATFORM", "S0APPTEAM"
ALICE, MALLORY, ADMIN = "U0ALICE", "U0MALLORY", "U0ADMIN"


def service_env() -> dict[str, str]:
    """The test services' variables; fails (never skips) when they are not up."""
    if not SERVICES_ENV.exists():
        raise RuntimeError(f"{SERVICES_ENV} is missing: run `scripts/test-services up` first")
    env = {}
    for line in SERVICES_ENV.read_text().splitlines():
        key, _, value = line.partition("=")
        if key and not key.startswith("#"):
            env[key.strip()] = value.strip()
    return env


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: the sockets stay bound until all are chosen, or the kernel
    may hand the same released port out twice (PORT and ECRBOT_OPS_PORT must differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ecr(env: Mapping[str, str]) -> Any:
    return boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def account_session(account: str) -> Any:
    """A boto3 session acting in `account` on the moto server (moto keeps accounts apart by
    the x-moto-account-id header): the test services' second registry, or an account a test
    makes for itself."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    session.events.register(
        "before-sign",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", account),
    )
    return session


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "e2e",
            "GIT_AUTHOR_EMAIL": "e2e@example.com",
            "GIT_COMMITTER_NAME": "e2e",
            "GIT_COMMITTER_EMAIL": "e2e@example.com",
        },
    )
    return result.stdout.strip()


@dataclass
class SampleApp:
    """A git repository holding a FROM-scratch image of the static busybox."""

    path: Path
    busybox: Path
    shas: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, path: Path, busybox: Path) -> SampleApp:
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--initial-branch=main")
        app = cls(path, busybox)
        shutil.copy(busybox, path / "busybox")
        app.commit('FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n', "v1")
        return app

    def commit(self, dockerfile: str, message: str, extra: str = "") -> str:
        (self.path / "Dockerfile").write_text(dockerfile)
        # The app name makes the file, and so every layer after `COPY VERSION`, unique to this
        # app: a RUN step after it never comes from another test's build cache.
        (self.path / "VERSION").write_text(f"{self.path.name} {message}{extra}\n")
        git(self.path, "add", "-A")
        git(self.path, "commit", "--quiet", "-m", message)
        sha = git(self.path, "rev-parse", "HEAD")
        self.shas.append(sha)
        return sha


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_catalog(
    path: Path,
    apps: dict[str, dict[str, Any]],
    *,
    home_role: str | None = None,
    registries: dict[str, dict[str, str]] | None = None,
    **slack: Any,
) -> Path:
    catalog: dict[str, Any] = {
        "registry": {"account_id": ACCOUNT, "region": REGION},
        "slack": {"channel": "C0PLATFORM", "admins": [ADMIN_GROUP], **slack},
        "apps": apps,
    }
    if home_role:
        catalog["registry"]["role"] = home_role
    if registries:
        catalog["registries"] = registries
    path.write_text(yaml.safe_dump(catalog))
    return path


class BotProcess:
    """`python -m bot serve` (or another subcommand, e.g. `worker`) as a child process, with its
    log kept for assertions."""

    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ("serve",)):
        self.env = env
        self.log_path = log_path
        self.args = args
        self.port = int(env.get("PORT", "0"))
        self.ops_port = int(env.get("ECRBOT_OPS_PORT", "0"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self) -> str:
        """/healthz, /readyz and /metrics: the ops port, never the Slack port."""
        return f"http://127.0.0.1:{self.ops_port}"

    def start(self, wait_http: bool = True) -> BotProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait_http:
            try:
                self._wait_ready()
            except BaseException:  # never leave a half-started bot behind (nor its database)
                self.stop(signal.SIGKILL)
                raise
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the bot exited at start:\n{self.log()}")
            # The ops port answers once the services are built (HTTP and Socket Mode alike);
            # in HTTP mode the Slack port must answer too. `ecrbot worker` serves no Slack port.
            slack_port = "SLACK_APP_TOKEN" not in self.env and tuple(self.args[:1]) != ("worker",)
            urls = [self.ops_url] + ([self.url] if slack_port else [])
            try:
                if all(requests.get(f"{url}/healthz", timeout=1).ok for url in urls):
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the bot did not answer /healthz:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def processes(*words: str) -> list[int]:
    """Ids of this machine's processes whose command line holds `words` in order (the engine
    runs here, so BuildKit's RUN steps, which are not containers, are in its process table)."""
    found = []
    wanted = " ".join(words)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if wanted in command and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def wait_until(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(interval)
