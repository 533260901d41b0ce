"""The database as the terminal commands touch it (`ecrbot db upgrade`, `jobs`, `audit`).

In the composition root because it builds an SQLAlchemy engine: entry points call these and
never import SQLAlchemy or the schema themselves. SQLAlchemy is imported inside each function,
so `ecrbot diagnose` (which imports the CLI) does not pay for it.
"""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import extras
from bot.config import Settings


def upgrade_database(settings: Settings) -> str:
    """Apply the migrations not applied yet; says from which revision to which."""
    import sqlalchemy as sa

    from bot.adapters.schema import upgrade

    extras.require_for_database(settings.database_url)
    engine = sa.create_engine(settings.database_url)
    try:
        before, after = upgrade(engine)
        # APScheduler's job table too, so a bot whose database role may not create tables
        # still starts (README: PostgreSQL runtime role).
        from bot.runtime.scheduler import create_job_table

        create_job_table(engine)
    finally:
        engine.dispose()
    if before == after:
        return f"The database is current (revision {after})."
    return f"Upgraded the database from {before or 'an empty or pre-migration schema'} to {after}."


def missing_sqlite_file(settings: Settings) -> str | None:
    """Where the SQLite file the URL names should be, if it is not there (opening it would
    create an empty database and answer "nothing yet"); None for any other database."""
    from bot.adapters.sqlite_reads import sqlite_path

    plain = sqlite_path(settings.database_url)  # the common case, without SQLAlchemy's parser
    if plain is not None:
        return None if plain.is_file() else str(plain.resolve())
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or Path(url.database or "").is_file():
        return None
    return str(Path(url.database).resolve()) if url.database else "(in memory)"
