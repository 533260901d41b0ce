"""Alembic's environment: run on the connection `ecrbot db upgrade` hands in, or on the URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from bot.adapters.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def run(conn: sa.Connection) -> None:
    # render_as_batch: SQLite can't ALTER most things, Alembic's batch mode copies the table.
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        run(conn)
