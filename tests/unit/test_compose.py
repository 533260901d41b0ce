"""docker-compose.yml: the whole scaled setup, consistent with the settings the code reads,
and its trust boundaries (issue #18): compose can't run here, so its parsed shape is tested."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_the_scaled_setup_has_two_replicas_two_workers_each_with_an_engine() -> None:
    services = compose()["services"]
    assert services["bot"]["deploy"]["replicas"] == 2
    workers = [name for name, s in services.items() if s.get("command", [None])[0] == "worker"]
    assert len(workers) == 2
    for worker in workers:
        engine = engine_of(services, worker)
        assert services[engine]["image"].endswith("-dind")
    assert len({engine_of(services, w) for w in workers}) == 2  # each its own engine
    assert {"redis", "postgres", "lb", "migrate"} <= set(services)
    assert services["migrate"]["command"] == ["db", "upgrade"]


def test_every_ecrbot_process_gets_settings_the_code_accepts() -> None:
    services = compose()["services"]
    for name in ("bot", "worker-1", "worker-2", "migrate"):
        env = {k: interpolate(str(v)) for k, v in services[name]["environment"].items()}
        env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
        settings = Settings.model_validate(env)
        assert settings.worker_backend == "celery", name
        assert settings.database_url.startswith("postgresql+psycopg://"), name
        assert settings.broker_url and settings.broker_url.startswith("redis://"), name


def test_the_load_balancer_points_at_the_bot_replicas() -> None:
    conf = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "server bot:3000;" in conf and "listen 3000;" in conf


# Compose's required-variable form: ${NAME:?message}. Anything else that names a password is
# a literal (or a silent default, ${NAME:-x}), which these tests refuse.
REQUIRED_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):\?[^}]*\}")


def interpolate(value: str) -> str:
    """What compose makes of a value when every required variable is set."""
    return REQUIRED_VAR.sub(lambda m: f"value-of-{m.group(1).lower()}", value)


def engine_of(services: dict[str, Any], worker: str) -> str:
    """The engine whose socket volume a worker mounts (its DOCKER_HOST is that socket)."""
    host = services[worker]["environment"]["DOCKER_HOST"]
    assert host.startswith("unix://"), f"{worker}: engine API over TCP ({host})"
    socket_dir = host.removeprefix("unix://").rsplit("/", 1)[0]
    volume = next(v.split(":")[0] for v in services[worker]["volumes"] if v.endswith(socket_dir))
    engines = [
        name
        for name, s in services.items()
        if s.get("image", "").endswith("-dind") and f"{volume}:{socket_dir}" in s.get("volumes", [])
    ]
    assert len(engines) == 1, (worker, engines)
    return engines[0]


def engines(services: dict[str, Any]) -> list[str]:
    return [name for name, s in services.items() if "dind" in str(s.get("image", ""))]


def test_no_engine_api_on_tcp_without_tls() -> None:
    services = compose()["services"]
    assert engines(services)
    for name, service in services.items():
        text = str(service)
        ports = [str(p) for p in service.get("ports", [])] + [str(service.get("expose", ""))]
        assert not any("2375" in p or "2376" in p for p in ports), name
        assert "tcp://" not in text, f"{name}: an engine API over TCP"
        env = service.get("environment") or {}
        assert env.get("DOCKER_TLS_CERTDIR", "unset") != "", f"{name}: TLS switched off"
    for name in engines(services):
        # The dind entrypoint adds tcp://0.0.0.0:2375 (or 2376) unless dockerd is named.
        command = services[name]["command"]
        assert command[0] == "dockerd", name
        assert all(arg.startswith("--host=unix://") for arg in command if "host" in arg), name


def test_engines_are_not_on_the_backend_network_nor_share_one() -> None:
    services = compose()["services"]
    backend = {"postgres", "redis"}
    backend_networks = {n for s in backend for n in services[s]["networks"]}
    assert backend_networks == {"backend"}
    assert compose()["networks"]["backend"].get("internal") is True
    seen: set[str] = set()
    for name in engines(services):
        networks = set(services[name]["networks"])
        assert not networks & backend_networks, name
        assert len(networks) == 1 and not networks & seen, f"{name} shares {networks}"
        seen |= networks
        others = [
            n for n, s in services.items() if n != name and networks & set(s.get("networks", []))
        ]
        assert others == [], f"{name}'s network also holds {others}"


def test_every_service_names_its_networks_and_only_the_ones_it_needs() -> None:
    services = compose()["services"]
    expected = {
        "postgres": {"backend"},
        "redis": {"backend"},
        "migrate": {"backend"},
        "bot": {"backend", "front"},
        "lb": {"front"},
        "worker-1": {"backend", "egress"},
        "worker-2": {"backend", "egress"},
        "engine-1": {"engine-1"},
        "engine-2": {"engine-2"},
    }
    assert {name: set(s.get("networks", [])) for name, s in services.items()} == expected
    assert "default" not in compose()["networks"]


def test_no_literal_passwords_and_redis_requires_one() -> None:
    services = compose()["services"]
    postgres = str(services["postgres"]["environment"]["POSTGRES_PASSWORD"])
    assert REQUIRED_VAR.fullmatch(postgres), postgres
    for name in ("bot", "worker-1", "worker-2", "migrate"):
        env = services[name]["environment"]
        for key in ("ECRBOT_DATABASE_URL", "ECRBOT_BROKER_URL"):
            userinfo = str(env[key]).split("://", 1)[1].rsplit("@", 1)[0]
            password = userinfo.split(":", 1)[1]
            assert REQUIRED_VAR.fullmatch(password), f"{name} {key}: {password!r}"
    command = services["redis"]["command"]
    assert REQUIRED_VAR.fullmatch(command[command.index("--requirepass") + 1])
    # No default hides a missing variable (${X:-default} or ${X-default}).
    assert not re.search(r"\$\{[A-Z_0-9]+:?-", (ROOT / "docker-compose.yml").read_text())
