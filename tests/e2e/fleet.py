"""The scaled-out setup of an e2e world: a PostgreSQL schema and a Redis database of its own
(claimed across processes: tests/e2e/redis_claim.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.databases import database
from tests.e2e.harness import BotProcess
from tests.e2e.redis_claim import RedisClaim


class Fleet:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self._database = database("postgresql", tmp)
        self.database_url = self._database.__enter__()
        self._broker = RedisClaim(env["ECRBOT_TEST_REDIS_URL"])
        try:
            self.broker_url = self._broker.claim()
        except BaseException:
            self._database.__exit__(None, None, None)
            raise
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
        try:
            self._database.__exit__(None, None, None)
        finally:
            self._broker.release()
