"""`ecrbot db upgrade`: bring the database's schema to this version's (Alembic)."""

from __future__ import annotations

import sqlalchemy as sa

from bot.adapters.schema import upgrade
from bot.config import Settings


def upgrade_database(settings: Settings) -> str:
    engine = sa.create_engine(settings.database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        return f"The database is current (revision {after})."
    return f"Upgraded the database from {before or 'an empty or pre-migration schema'} to {after}."
