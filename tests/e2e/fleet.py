"""The scaled-out setup of an e2e world: a PostgreSQL schema and a Redis database of its own."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from tests.databases import database
from tests.e2e.harness import BotProcess

# Redis has 16 numbered databases; each world takes the next, flushed (0 is left alone).
_REDIS_DBS = itertools.cycle(range(1, 16))


class Fleet:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self._database = database("postgresql", tmp)
        self.database_url = self._database.__enter__()
        self.broker_url = f"{env['ECRBOT_TEST_REDIS_URL']}/{next(_REDIS_DBS)}"
        redis.Redis.from_url(self.broker_url).flushdb()
        self.workers: dict[str, BotProcess] = {}

    def env(self) -> dict[str, str]:
        return {
            "ECRBOT_WORKER_BACKEND": "celery",
            "ECRBOT_BROKER_URL": self.broker_url,
            "ECRBOT_DATABASE_URL": self.database_url,
            "ECRBOT_WORKERS": "8",  # the fleet-wide limit; each worker's concurrency is its own
        }

    def jobs(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                if not sa.inspect(conn).has_table("jobs"):
                    return []
                rows = conn.execute(sa.text("SELECT * FROM jobs ORDER BY id")).mappings()
                return [dict(row) for row in rows]
        finally:
            engine.dispose()

    def close(self) -> None:
        self._database.__exit__(None, None, None)
