"""The names in the bot's database that more than one reader spells: the tables and columns
`schema.py` declares with SQLAlchemy, and `sqlite_reads.py` reads with the standard library's
sqlite3 (so `ecrbot promote` need not import SQLAlchemy). The layout itself (types, keys,
indexes) is schema.py's alone; tests/unit/test_sqlite_reads.py checks the two agree.

Also here, for the same reader: the newest migration read from the migration files, and a job's
stored result parsed, neither needing SQLAlchemy."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.domain.models import PushResult

JOBS = "jobs"
LOCKS = "locks"
ALEMBIC_VERSION = "alembic_version"  # Alembic's own table: the revision it stamped
# The locks table's columns, in schema.py's order.
LOCK_COLUMNS = ("app", "environment", "reason", "locked_by", "locked_at")
# The jobs table's columns a promotion reads (the tags an ecrbot push put on a digest).
JOB_COLUMNS = ("id", "app", "state", "result")

MIGRATIONS = Path(__file__).with_name("migrations")

_REVISION = re.compile(r'^(down_revision|revision) = (None|"[0-9A-Za-z_]+")\s*$', re.MULTILINE)


def head_from_files(migrations: Path = MIGRATIONS) -> str | None:
    """The newest migration, from the files' `revision` and `down_revision` lines when they
    make one line of history; None for anything else (a branch, a merge, a line not
    understood): Alembic's to answer."""
    parent: dict[str, str | None] = {}
    for path in (migrations / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if set(found) != {"revision", "down_revision"} or found["revision"] == "None":
            return None
        down = found["down_revision"]
        parent[found["revision"].strip('"')] = None if down == "None" else down.strip('"')
    heads = set(parent) - set(parent.values())
    roots = [rev for rev, down in parent.items() if down is None]
    return heads.pop() if len(heads) == 1 and len(roots) == 1 else None


def parse_result(text: str | None) -> PushResult | None:
    """A job's `result` column (JSON) as the push's result."""
    if not text:
        return None
    data = json.loads(text)
    data["image_uris"] = tuple(data["image_uris"])
    data["warnings"] = tuple(data.get("warnings", ()))
    return PushResult(**data)
