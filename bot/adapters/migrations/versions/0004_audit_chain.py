"""The audit log's job column and hash chain (prev_hash, hash), the rows already there chained.

Rows written before this revision are numbered 1, 2, 3... in their order (the chain needs
consecutive ids to show a removed row) and chained, with the append-only triggers set aside for
the length of this transaction only: migrations run as the database's owner, the bot does not.

The chain's format is imported, not copied as the trigger statements are: it is a contract
every stored chain depends on (bot/domain/audit_chain.py), so it can never change anyway.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.domain.audit_chain import chain

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for verb in ("UPDATE", "DELETE")
)
COLUMNS = ("id", "at", "user", "kind", "action", "app", "channel", "detail", "outcome", "reason")
PAGE = 1000


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    with op.batch_alter_table("audit_log") as table:
        table.add_column(sa.Column("job", sa.Integer))
        table.add_column(sa.Column("prev_hash", sa.String(64)))
        table.add_column(sa.Column("hash", sa.String(64)))
    # batch_alter_table may rebuild the table on SQLite, which drops its triggers: set them
    # again at the end whatever happened.
    if dialect == "sqlite":
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    _chain_existing_rows(bind)
    if dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def _chain_existing_rows(bind: sa.Connection) -> None:
    # Typed as the schema has them: the hash covers the datetime as ecrbot reads it back.
    types: dict[str, Any] = {"id": sa.Integer(), "at": sa.DateTime(timezone=True)}
    names = (*COLUMNS, "prev_hash", "hash")
    log = sa.table("audit_log", *(sa.column(name, types.get(name)) for name in names))
    old_ids = [row[0] for row in bind.execute(sa.select(log.c.id).order_by(log.c.id))]
    # Consecutive ids, in order: each row moves to an id no row holds any more (new <= old).
    for new_id, old_id in enumerate(old_ids, start=1):
        if new_id != old_id:
            bind.execute(log.update().where(log.c.id == old_id).values(id=new_id))
    head: tuple[int, str] | None = None
    for start in range(1, len(old_ids) + 1, PAGE):
        rows = bind.execute(
            sa.select(*(log.c[name] for name in COLUMNS))
            .where(log.c.id.between(start, start + PAGE - 1))
            .order_by(log.c.id)
        ).mappings()
        page = [{**row, "job": None} for row in rows]
        # chain() numbers from the head: the same ids these rows now have.
        for linked in chain(head, page):
            bind.execute(
                log.update()
                .where(log.c.id == linked["id"])
                .values(prev_hash=linked["prev_hash"], hash=linked["hash"])
            )
            head = (linked["id"], linked["hash"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("audit_log") as table:
        table.drop_column("hash")
        table.drop_column("prev_hash")
        table.drop_column("job")
    if dialect == "sqlite":  # a rebuilt table lost its triggers
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
