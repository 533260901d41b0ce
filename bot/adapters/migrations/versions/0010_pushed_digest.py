"""The digest of the image a job built and pushed itself, in a column of its own: provenance
(`SqlJobStore.pushed_digest`) is then one indexed read, not a walk through the reuses of a
commit, which parsed every reuse's result on every push (O(reuses) per job).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
PAGE = 500


def upgrade() -> None:
    op.add_column("jobs", sa.Column("pushed_digest", sa.String(80)))
    op.create_index("jobs_pushed_by_commit", "jobs", ["app", "full_sha", "pushed_digest"])
    # Jobs finished before this revision: their results say what they pushed (a result written
    # before `pushed` existed was a push). Read a page at a time: a long history stays in bounds.
    conn = op.get_bind()
    after = 0
    while True:
        page = conn.execute(
            sa.text(
                "SELECT id, result FROM jobs WHERE state = 'succeeded' AND result IS NOT NULL "
                "AND id > :after ORDER BY id LIMIT :page"
            ),
            {"after": after, "page": PAGE},
        ).all()
        for job_id, text in page:
            digest = _pushed(text)
            if digest is not None:
                conn.execute(
                    sa.text("UPDATE jobs SET pushed_digest = :digest WHERE id = :id"),
                    {"digest": digest, "id": job_id},
                )
        if len(page) < PAGE:
            return
        after = page[-1][0]


def _pushed(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    digest = data.get("digest")
    if data.get("pushed", True) is True and isinstance(digest, str) and DIGEST.fullmatch(digest):
        return digest
    return None


def downgrade() -> None:
    op.drop_index("jobs_pushed_by_commit", table_name="jobs")
    op.drop_column("jobs", "pushed_digest")
