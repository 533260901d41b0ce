"""What `ecrbot promote` reads from a SQLite database, with the standard library's sqlite3 and
no SQLAlchemy: the locks on an app, and the tags ecrbot's own pushes put on a digest.

Importing SQLAlchemy (and building an engine) cost the already-there promotion ~0.18 s of its
~0.6 s of CPU, for two small reads. This reader opens the file read-only, reads only a database
at the schema's head revision (anything else, and any other database, goes through the
SQLAlchemy stores, which also word the refusal), and takes or lifts no lock: `take` and
`release` refuse. The names it reads are table_names.py's, shared with schema.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from bot.adapters.table_names import (
    ALEMBIC_VERSION,
    JOB_COLUMNS,
    JOBS,
    LOCK_COLUMNS,
    LOCKS,
    head_from_files,
    parse_result,
)
from bot.domain.locks import Lock
from bot.domain.models import JobState
from bot.domain.promotion import TAG

WHOLE_APP = ""  # lock_store.py's: the key column can't be NULL, '' is "every environment"
PUSHES_READ = 500  # the newest successful pushes of the app searched (as the bot does)
_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")
# Built from constant names only (table_names.py); every value is a bound parameter.
_ID, _APP, _STATE, _RESULT = JOB_COLUMNS
_VERSION_SQL = f"SELECT version_num FROM {ALEMBIC_VERSION}"  # noqa: S608
_LOCKS_SQL = f"SELECT {', '.join(LOCK_COLUMNS)} FROM {LOCKS}"  # noqa: S608
_LOCKS_ORDER = " ORDER BY locked_at, app, environment"
_PUSHED_SQL = (
    f"SELECT {_RESULT} FROM {JOBS} WHERE {_APP} = ? AND {_STATE} = ? "  # noqa: S608
    f"AND {_RESULT} IS NOT NULL ORDER BY {_ID} DESC LIMIT {PUSHES_READ}"
)


def sqlite_path(url: str) -> Path | None:
    """The file a plain SQLite URL names (`sqlite:///relative`, `sqlite:////absolute`); None
    for any other URL, or one with options or in memory: SQLAlchemy's to read."""
    for prefix in _PREFIXES:
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            return Path(rest) if rest and "?" not in rest and rest != ":memory:" else None
    return None


class SqliteReads:
    """The locks (`LockStore`'s read) and pushed tags of one SQLite file, read-only."""

    def __init__(
        self, path: Path, head: Callable[[], str | None] = head_from_files, timeout_s: float = 5
    ) -> None:
        self._uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        self._head = head
        self._timeout_s = timeout_s  # a writer holding the file: wait, as the bot's reads do

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._uri, uri=True, timeout=self._timeout_s)

    def current(self) -> bool:
        """True when the file is at the head revision this code knows (one stamped revision,
        equal to the head the migration files name); False for anything else, unreadable
        included: the caller then goes through SQLAlchemy, which explains."""
        want = self._head()
        if want is None:
            return False
        try:
            with closing(self._connect()) as db:
                found = db.execute(_VERSION_SQL).fetchall()
        except sqlite3.Error:
            return False
        return [row[0] for row in found] == [want]

    def held(self, app: str | None = None) -> list[Lock]:
        """Every lock (of `app`), oldest first: as SqlLockStore.held."""
        where, args = (" WHERE app = ?", (app,)) if app is not None else ("", ())
        with closing(self._connect()) as db:
            rows = db.execute(_LOCKS_SQL + where + _LOCKS_ORDER, args).fetchall()
        return [_lock(dict(zip(LOCK_COLUMNS, row, strict=True))) for row in rows]

    def take(self, lock: Lock) -> Lock:
        raise PermissionError("a read-only reader takes no lock")

    def release(self, app: str, environment: str | None) -> Lock | None:
        raise PermissionError("a read-only reader lifts no lock")

    def pushed(self, app: str, digest: str) -> tuple[str, ...]:
        """The tags ecrbot's newest successful push of `app` put on `digest` (its SHA and
        version, never `latest`); nothing when ecrbot did not push it: as `pushed_tags`."""
        with closing(self._connect()) as db:
            rows = db.execute(_PUSHED_SQL, (app, JobState.SUCCEEDED.value)).fetchall()
        for (text,) in rows:
            done = parse_result(text)
            if done is not None and done.digest == digest:
                tags = (uri.rsplit(":", 1)[-1] for uri in done.image_uris)
                return tuple(t for t in tags if t != "latest" and TAG.fullmatch(t))
        return ()


def _lock(row: dict[str, str]) -> Lock:
    at = datetime.fromisoformat(row["locked_at"])
    if at.tzinfo is None:  # stored by SQLAlchemy as naive UTC text
        at = at.replace(tzinfo=UTC)
    return Lock(row["app"], row["environment"] or None, row["reason"], row["locked_by"], at)
