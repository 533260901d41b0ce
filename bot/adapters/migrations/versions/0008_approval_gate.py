"""The scan gate's failing findings on an approval request, which only an admin overrides
(issue #16).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("gate", sa.String(300)))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("gate")
