"""`ecrbot db upgrade`: bring the database's schema to this version's (Alembic)."""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from bot.adapters.schema import upgrade
from bot.bootstrap import extras
from bot.config import Settings
from bot.domain.errors import ConfigError


def upgrade_database(settings: Settings) -> str:
    extras.require_for_database(settings.database_url)
    engine = sa.create_engine(settings.database_url)
    try:
        before, after = upgrade(engine)
        from bot.runtime.scheduler import create_job_table  # APScheduler: `serve` loads it

        create_job_table(engine)
    finally:
        engine.dispose()
    if before == after:
        return f"The database is current (revision {after})."
    return f"Upgraded the database from {before or 'an empty or pre-migration schema'} to {after}."


def main(argv: list[str]) -> int:
    """`ecrbot db upgrade`."""
    parser = argparse.ArgumentParser(prog="ecrbot db", description="The bot's database.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "upgrade", help="apply the schema migrations not applied yet (ECRBOT_DATABASE_URL)"
    )
    parser.parse_args(argv)
    try:
        print(upgrade_database(Settings()))
    except ConfigError as error:
        print(f"ecrbot db: {error}", file=sys.stderr)
        return 2
    return 0
