"""Whether the audit log is as ecrbot wrote it: the append-only triggers are there and enabled,
and the hash chain (bot/domain/audit_chain.py) holds from the first row to the last."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from bot.adapters.schema import APPEND_ONLY_TRIGGERS, audit_log
from bot.domain.audit_chain import FIELDS, AuditIntegrity, ChainReport, ChainVerifier

PAGE = 5000  # rows read at a time: the check's memory stays flat however long the log is
# Rows hashed between two pauses: about 20 ms of one core here. At start the check runs beside
# the first requests, and hashing a page at once held the GIL from them for 0.4 s (issue #19).
SLICE = 250
COLUMNS = [audit_log.c[name] for name in (*FIELDS, "prev_hash", "hash")]


def check(engine: sa.Engine, pause: Callable[[], None] | None = None) -> AuditIntegrity:
    """The triggers and the chain, read on one connection."""
    with engine.connect() as conn:
        return AuditIntegrity(tuple(trigger_problems(conn)), verify_chain(conn, pause))


def verify_chain(conn: sa.Connection, pause: Callable[[], None] | None = None) -> ChainReport:
    """Every row in id order, until the first that breaks the chain; `pause()` between
    slices of SLICE rows."""
    verifier = ChainVerifier()
    after = 0
    while True:
        rows = (
            conn.execute(
                sa.select(*COLUMNS)
                .where(audit_log.c.id > after)
                .order_by(audit_log.c.id)
                .limit(PAGE)
            )
            .mappings()
            .all()
        )
        if not rows:
            return verifier.report()
        for start in range(0, len(rows), SLICE):
            if not verifier.feed(rows[start : start + SLICE]):
                return verifier.report()
            if pause is not None:
                pause()
        after = rows[-1]["id"]


def trigger_problems(conn: sa.Connection) -> list[str]:
    """What is missing, disabled or no longer refusing among the append-only triggers."""
    dialect = conn.dialect.name
    wanted = APPEND_ONLY_TRIGGERS.get(dialect)
    if wanted is None:
        return []
    if dialect == "sqlite":
        found = {
            name: (sql or "", True)
            for name, sql in conn.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_log'"
                )
            )
        }
        refuses = "RAISE(ABORT"
    else:
        # The function's body too: the owner could replace it with one that lets rows through.
        found = {
            name: (body or "", enabled != "D")
            for name, enabled, body in conn.execute(
                sa.text(
                    "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t "
                    "JOIN pg_proc p ON p.oid = t.tgfoid "
                    "WHERE t.tgrelid = to_regclass('audit_log') AND NOT t.tgisinternal"
                )
            )
        }
        refuses = "RAISE EXCEPTION"
    problems = []
    for name in sorted(wanted):
        if name not in found:
            problems.append(f"{name} is missing")
            continue
        body, enabled = found[name]
        if not enabled:
            problems.append(f"{name} is disabled")
        elif refuses not in body.upper().replace(" (", "("):
            problems.append(f"{name} no longer refuses changes")
    return problems
