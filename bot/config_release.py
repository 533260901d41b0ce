"""The catalog's release keys: `registries:` by name, and each app's ordered `environments:`.

Kept apart from `config.py` (which is already long); `Catalog` includes these models and checks
them against each other (an environment's registry must exist, names must not repeat).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.environments import HOME, Environment, Gate, NamedRegistry

ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamedRegistryConfig(_Strict):
    account_id: str = Field(pattern=r"^\d{12}$", description="12-digit AWS account id (quoted)")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="e.g. eu-west-2")
    role: str = Field(pattern=ROLE_ARN, description="the role the bot assumes to reach it")


class GateConfig(_Strict):
    critical: int | None = Field(
        None, ge=0, description="critical findings a promotion tolerates, whatever their age"
    )
    high_past_sla: int | None = Field(
        None,
        ge=0,
        description="high findings past the CVE SLA tolerated (the report's: 7, 14 or 30 days "
        "by the app's `risk`, from first seen)",
    )
    scan_timeout: str = Field(
        "5m",
        pattern=r"^[1-9][0-9]{0,4}[smh]$",
        description="how long a promotion waits for a scan in progress (e.g. 90s, 5m)",
    )


class EnvironmentConfig(_Strict):
    name: str = Field(pattern=NAME, description="e.g. staging, prod")
    registry: str = Field(
        pattern=NAME, description=f"a name under `registries:`, or `{HOME}` for `registry:`"
    )
    repository: str | None = Field(
        None,
        pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$",
        description="the repository in that registry (default: the app's)",
    )
    approvers: tuple[str, ...] = Field(
        (), description="user-group or user ids; one who is not the requester must approve"
    )
    gate: GateConfig | None = Field(None, description="scan findings a promotion tolerates")
    approval_ttl: str = Field(
        "30m",
        pattern=r"^[1-9][0-9]{0,4}[smh]$",
        description="how long an approval request may be approved (e.g. 30m, 2h)",
    )


def check_environments(
    app: str, environments: tuple[EnvironmentConfig, ...], registries: dict[str, object]
) -> None:
    """Refuse an unknown registry, a repeated name, or a step that copies onto its own source."""
    seen: set[str] = set()
    source: tuple[str, str | None] = (HOME, None)
    for index, env in enumerate(environments):
        where = f"apps.{app}.environments.{index} ({env.name})"
        if env.name in seen:
            raise ValueError(f"{where}: environment `{env.name}` is listed twice in `{app}`")
        seen.add(env.name)
        if env.registry != HOME and env.registry not in registries:
            known = ", ".join(sorted([HOME, *registries]))
            raise ValueError(f"{where}: unknown registry `{env.registry}` (known: {known})")
        target = (env.registry, env.repository)
        if target == source:
            raise ValueError(
                f"{where}: promotes to the registry and repository it comes from "
                "(a loop): name another registry or `repository`"
            )
        source = target


def named_registries(
    home: tuple[str, str, str | None], registries: dict[str, NamedRegistryConfig]
) -> dict[str, NamedRegistry]:
    """Every registry by name, `home` being `registry:` (its `role:`, if any, or the bot's own
    credentials)."""
    named = {HOME: NamedRegistry(HOME, *home)}
    for name, config in registries.items():
        named[name] = NamedRegistry(name, config.account_id, config.region, config.role)
    return named


def environments(
    repository: str,
    configs: tuple[EnvironmentConfig, ...],
    registries: dict[str, NamedRegistry],
) -> tuple[Environment, ...]:
    """The domain's environments of one app (already checked by `check_environments`)."""
    return tuple(
        Environment(
            name=env.name,
            registry=registries[env.registry],
            repository=env.repository or repository,
            approvers=env.approvers,
            gate=_gate(env.gate) if env.gate else None,
            approval_ttl_s=ttl_seconds(env.approval_ttl),
        )
        for env in configs
    )


def ttl_seconds(ttl: str) -> int:
    """`30m` → 1800; at most a day: an approval is for a release, not for a week."""
    return min(int(ttl[:-1]) * {"s": 1, "m": 60, "h": 3600}[ttl[-1]], 24 * 3600)


def _gate(config: GateConfig) -> Gate:
    timeout = min(ttl_seconds(config.scan_timeout), 3600)  # a scan takes minutes, not hours
    return Gate(config.critical, config.high_past_sla, timeout)
