"""Where the sandbox's AWS, Docker engine and registry come from, and what is missing.

AWS is always the sandbox's own moto, started in this process and seeded with the sample
apps, so diagnose and report show the sandbox and nothing else (the test services' moto holds
whatever the test suite left behind). The test services (`scripts/test-services up`: dockerd,
Debian's docker-registry behind a TLS "ECR edge" at the real ECR hostname) make `/ecr push`
really build and push: the edge is told to ask the sandbox's moto about the sandbox's
repositories (its control server's routes). Without them push says which packages and commands
it needs.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.bootstrap.sandbox import Routes, SandboxAdapters

ROOT = Path(__file__).resolve().parents[2]
SERVICES_ENV = ROOT / "var" / "test-services.env"
PACKAGES = {"dockerd": "docker.io", "docker-registry": "docker-registry"}
STATIC_BUSYBOX = (Path("/bin/busybox"), Path("/usr/bin/busybox"))


class SandboxError(Exception):
    """The sandbox can't start; the message says what to install or run."""


@dataclass
class Backend:
    """The AWS endpoint, Docker engine and registry trust the sandbox's bot uses."""

    endpoint_url: str
    description: str
    docker_host: str | None = None
    ca_bundle: str | None = None
    busybox: Path | None = None
    push_unavailable: str | None = None
    stop: Callable[[], None] = field(default=lambda: None)
    routes: Routes | None = None  # the ECR edge's, to route the sandbox's repositories

    def route(self, repositories: list[str]) -> Callable[[], None]:
        """Send the edge's questions about these repositories to this moto; returns the undo."""
        if self.routes is None:
            return lambda: None
        return self.routes.route(repositories, self.endpoint_url)


def choose(notes: list[str], adapters: SandboxAdapters) -> Backend:
    """The sandbox's own moto, with the test services' engine and ECR edge when they answer."""
    services = test_services()
    url, stop = embedded_moto()
    if services is not None:
        down = [name for name, ok in _probe(services, adapters).items() if not ok]
        if not down:
            given = services.get("BUSYBOX_STATIC")
            return Backend(
                url,
                f"an embedded moto at {url}, pushing through the test services' ECR edge",
                services.get("DOCKER_HOST"),
                services.get("ECR_EDGE_CA_CERT"),
                Path(given) if given and Path(given).is_file() else static_busybox(),
                stop=stop,
                routes=_routes(services.get("ECR_EDGE_CONTROL_URL"), adapters),
            )
        notes.append(
            f"The test services ({SERVICES_ENV.name}) don't answer ({', '.join(down)}): "
            "`scripts/test-services up` starts them."
        )
    return Backend(
        url,
        f"an embedded moto at {url}",
        busybox=static_busybox(),
        push_unavailable=push_needs(),
        stop=stop,
    )


def _routes(control_url: str | None, adapters: SandboxAdapters) -> Routes | None:
    return adapters.edge_routes(control_url) if control_url else None


def test_services() -> dict[str, str] | None:
    """The variables `scripts/test-services up` wrote, if any (ECRBOT_TEST_SERVICES_ENV)."""
    chosen = os.environ.get("ECRBOT_TEST_SERVICES_ENV")
    path = Path(chosen) if chosen else SERVICES_ENV
    if chosen in ("", "none", "off") or not path.is_file():
        return None
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() and not key.startswith("#"):
            env[key.strip()] = value.strip()
    return env if "AWS_ENDPOINT_URL" in env else None


def _probe(services: dict[str, str], adapters: SandboxAdapters) -> dict[str, bool]:
    checks = {"moto": _listening(services["AWS_ENDPOINT_URL"])}
    if services.get("ECR_HOST"):
        checks["ECR edge"] = _listening(f"https://{services['ECR_HOST']}")
    checks["Docker engine"] = adapters.docker_answers(services.get("DOCKER_HOST"))
    return checks


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def embedded_moto() -> tuple[str, Callable[[], None]]:
    """moto's server on a free local port, in this process."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        raise SandboxError(
            "The sandbox's AWS is moto, which is not installed: "
            "`python3 -m pip install 'moto[server]'` (or `pip install '.[dev]'`)."
        ) from error
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return f"http://127.0.0.1:{port}", server.stop


def push_needs() -> str:
    """Why push is unavailable without the test services, and how to get it."""
    missing = [package for tool, package in PACKAGES.items() if not _installed(tool)]
    if static_busybox() is None:
        missing.append("busybox-static")
    install = f"apt-get install {' '.join(missing)}, then " if missing else ""
    return (
        "push needs a Docker engine and a local registry, which this sandbox doesn't have: "
        f"{install}run `scripts/test-services up` (as root) and start "
        "`ecrbot console --sandbox` again. diagnose, report, jobs and help work without them."
    )


def _installed(tool: str) -> bool:
    return shutil.which(tool) is not None or Path("/usr/sbin", tool).exists()


def static_busybox() -> Path | None:
    """Debian's static busybox (busybox-static), which runs in a FROM-scratch image."""
    for path in STATIC_BUSYBOX:
        if path.is_file() and _is_static_elf(path):
            return path
    return None


def _is_static_elf(path: Path) -> bool:
    """An ELF64 executable with no program interpreter (PT_INTERP) is statically linked."""
    with path.open("rb") as file:
        header = file.read(64)
        if len(header) < 64 or header[:5] != b"\x7fELF\x02":
            return False
        order = "<" if header[5] == 1 else ">"
        phoff = struct.unpack_from(order + "Q", header, 32)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
        file.seek(phoff)
        table = file.read(phentsize * phnum)
    types = [struct.unpack_from(order + "I", table, i * phentsize)[0] for i in range(phnum)]
    return 3 not in types  # PT_INTERP
