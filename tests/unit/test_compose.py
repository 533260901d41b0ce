"""docker-compose.yml: the whole scaled setup, consistent with the settings the code reads."""

from __future__ import annotations

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
    engines = {services[w]["environment"]["DOCKER_HOST"] for w in workers}
    assert len(engines) == 2  # each its own engine
    for engine in engines:
        host = engine.removeprefix("tcp://").split(":")[0]
        assert services[host]["image"].endswith("-dind")
    assert {"redis", "postgres", "lb", "migrate"} <= set(services)
    assert services["migrate"]["command"] == ["db", "upgrade"]


def test_every_ecrbot_process_gets_settings_the_code_accepts() -> None:
    services = compose()["services"]
    for name in ("bot", "worker-1", "worker-2", "migrate"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
        settings = Settings.model_validate(env)
        assert settings.worker_backend == "celery", name
        assert settings.database_url.startswith("postgresql+psycopg://"), name
        assert settings.broker_url and settings.broker_url.startswith("redis://"), name


def test_the_load_balancer_points_at_the_bot_replicas() -> None:
    conf = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "server bot:3000;" in conf and "listen 3000;" in conf
