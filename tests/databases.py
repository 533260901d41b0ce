"""Databases for tests: a SQLite file, or a fresh schema of the test services' PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


def postgres_url() -> str | None:
    url = os.environ.get("ECRBOT_TEST_POSTGRES_URL")
    env_file = ROOT / "var/test-services.env"
    if url is None and env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("ECRBOT_TEST_POSTGRES_URL="):
                url = line.split("=", 1)[1]
    return url


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of `kind` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/ecrbot-{uuid.uuid4().hex[:6]}.db"
        return
    url = postgres_url()
    if url is None:
        pytest.fail("ECRBOT_TEST_POSTGRES_URL is not set: run scripts/test-services up")
    schema = f"t_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


RUNTIME_ROLE = "ecrbot_runtime"  # scripts/test-services creates it: LOGIN, no privileges


def runtime_url(owner_url: str) -> str:
    """The same database and schema as `owner_url`, as the runtime role (README: PostgreSQL)."""
    url = sa.engine.make_url(owner_url).set(username=RUNTIME_ROLE, password=RUNTIME_ROLE)
    return url.render_as_string(hide_password=False)


def schema_of(url: str) -> str:
    """The schema a `database("postgresql")` URL puts first on the search path."""
    options = str(sa.engine.make_url(url).query.get("options", ""))
    return options.split("search_path=", 1)[1]
