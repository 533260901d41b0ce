"""Promotion records: Cancel and Retry on any replica and after a restart, and what each
environment runs as far as ecrbot knows (issue #16).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("app", sa.String(200), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64)),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(80)),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("retried_by", sa.String(64)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("promotions_by_target", "promotions", ["app", "environment", "state"])
    op.create_index("promotions_by_state", "promotions", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_table("promotions")
