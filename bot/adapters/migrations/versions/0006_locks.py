"""Locks on an app or one of its environments (issue #16).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("environment", sa.String(64), primary_key=True),  # '' for the whole app
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
