"""The console sandbox's composition root: the adapters `ecrbot console --sandbox` uses to
seed its moto, probe the engine and route the test ECR edge.

Entry points never build adapters (an import-linter contract): the sandbox asks these methods.
Each imports its adapter when called, so the console without `--sandbox` loads none of them.
Tests subclass `SandboxAdapters` to hand the sandbox fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class SandboxPlatform(Protocol):
    """What seeding the sandbox asks of AWS (`adapters/sandbox_aws.py`)."""

    def oidc_provider(self, url: str, audience: str, thumbprint: str) -> None: ...

    def role(self, name: str, trust: str, policy: str) -> None: ...

    def repository(self, name: str, compliant: bool, lifecycle: dict[str, Any]) -> None: ...

    def image(self, repository: str, manifest: str, tag: str | None) -> None: ...

    def key_user(self, user: str, policy: str) -> None: ...


class Routes(Protocol):
    """The test ECR edge's routes (`adapters/edge_routes.py`)."""

    def route(self, repositories: list[str], endpoint_url: str) -> Callable[[], None]: ...


@dataclass(frozen=True)
class SandboxAdapters:
    """The sandbox's AWS, engine probe and edge routes, built when asked."""

    def platform(self, endpoint_url: str, region: str) -> SandboxPlatform:
        from bot.adapters.sandbox_aws import SandboxAws

        return SandboxAws(endpoint_url, region)

    def docker_answers(self, host: str | None) -> bool:
        """True when the engine at `host` (None: the environment's) answers a ping in 3 s."""
        from bot.adapters.engine import DockerEngine

        try:
            DockerEngine(host, timeout=3).ping()
            return True
        except Exception:  # a probe answers no, whatever the reason
            return False

    def edge_routes(self, control_url: str) -> Routes:
        from bot.adapters.edge_routes import EdgeRoutes

        return EdgeRoutes(control_url)
