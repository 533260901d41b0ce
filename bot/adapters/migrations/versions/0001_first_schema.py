"""The first schema: jobs and report figures, as the releases before migrations made them.

A database from before migrations may already hold these tables, with or without the columns
added later (`steps`, `reply_url`): what exists is kept, what is missing is added.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "jobs" not in tables:
        op.create_table(
            "jobs",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("request_key", sa.String(200), nullable=False, unique=True),
            sa.Column("app", sa.String(200), nullable=False, index=True),
            sa.Column("sha", sa.String(40), nullable=False),
            sa.Column("full_sha", sa.String(40)),
            sa.Column("version", sa.String(128)),
            sa.Column("requested_by", sa.String(64), nullable=False),
            sa.Column("channel", sa.String(64)),
            sa.Column("state", sa.String(16), nullable=False, index=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True)),
            sa.Column("finished_at", sa.DateTime(timezone=True)),
            sa.Column("thread_ts", sa.String(32)),
            sa.Column("result", sa.Text),
            sa.Column("failure", sa.Text),
        )
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}
    with op.batch_alter_table("jobs") as batch:
        if "steps" not in columns:
            batch.add_column(sa.Column("steps", sa.Text))
        if "reply_url" not in columns:
            batch.add_column(sa.Column("reply_url", sa.String(500)))
    if "report_figures" not in tables:
        op.create_table(
            "report_figures",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False, index=True),
            sa.Column("figures", sa.Text, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("report_figures")
    op.drop_table("jobs")
