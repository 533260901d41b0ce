"""Registries and the environments an app is promoted through, as the catalog names them."""

from __future__ import annotations

from dataclasses import dataclass

# The name of the registry of `registry:` (today's settings) among `registries:`: the home of
# every push, and the source of an app's first environment.
HOME = "home"


@dataclass(frozen=True)
class NamedRegistry:
    """One ECR registry: an account, a region, and the role the bot assumes to reach it."""

    name: str
    account_id: str
    region: str
    role: str | None = None  # None: the bot's own credentials (the home registry)

    @property
    def host(self) -> str:
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class Gate:
    """The scan findings an environment tolerates (None: not gated on that count)."""

    critical: int | None = None
    high_past_sla: int | None = None
    scan_timeout_s: int = 5 * 60  # how long a promotion waits for a scan in progress


@dataclass(frozen=True)
class Environment:
    """One step of an app's release path: where its image goes, and who must agree."""

    name: str
    registry: NamedRegistry
    repository: str  # in that registry; the app's repository unless the catalog names another
    approvers: tuple[str, ...] = ()  # user or user-group ids; one, not the requester, approves
    gate: Gate | None = None
    approval_ttl_s: int = 30 * 60  # how long an approval request may be approved
