"""Marks the bot replicas share (issue #18): Slack request signatures already seen (replay
protection) and rate-limit slots in use, each with its expiry, so that three replicas refuse a
replay and count a user's diagnoses as one process would.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_marks",
        sa.Column("mark", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("request_marks_expiry", "request_marks", ["expires_at"])


def downgrade() -> None:
    op.drop_index("request_marks_expiry", table_name="request_marks")
    op.drop_table("request_marks")
