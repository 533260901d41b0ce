"""`ecrbot db upgrade`: bring the database's schema to this version's (Alembic)."""

from __future__ import annotations

import argparse
import sys

from bot.bootstrap.database import upgrade_database
from bot.config import Settings
from bot.domain.errors import ConfigError


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
