"""The bot's tables, and the one rule for its database's schema: Alembic's head, or refuse.

An empty database is created at the head revision (nothing to migrate); a database at an older
revision, or from before migrations existed, is brought up by `ecrbot db upgrade` and refused
until then; a database newer than this code is refused too. Migrations live in `migrations/`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # What Slack sent (trigger id) or the caller chose: a retried request finds its job again.
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
    sa.Column("steps", sa.Text),  # {"build": 3.2, ...}: seconds per pipeline step
    sa.Column("reply_url", sa.String(500)),  # Slack's response_url, to reach the asker
    # The scaled-out worker backend (0002): who runs it, its last sign of life, a cancel request.
    sa.Column("worker", sa.String(200)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
)

report_figures = sa.Table(
    "report_figures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("figures", sa.Text, nullable=False),
)

# One row per scheduled fire time that was posted: with several replicas running schedulers,
# the first to insert the row posts the report, the others see the key taken.
report_fires = sa.Table(
    "report_fires",
    metadata,
    sa.Column("schedule_id", sa.String(100), primary_key=True),
    sa.Column("fire_time", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
)

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to do."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """`ecrbot db upgrade`: apply every migration not applied yet; returns (from, to)."""
    before = revision(engine)
    with engine.begin() as conn:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head()


def require_current(engine: sa.Engine) -> None:
    """At start: create an empty database at head; refuse an old or newer schema."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # replicas starting together create it once
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242424242)"))
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(sa.inspect(conn).get_table_names())
        if current is None and not tables & set(metadata.tables):
            metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(
                ScriptDirectory.from_config(alembic_config("sqlite://")), "head"
            )
            return
    want = head()
    if current == want:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        found = "from before ecrbot's migrations"
    elif current in _known_revisions():
        found = f"at revision {current}, older than this ecrbot's {want}"
    else:
        raise SchemaError(
            f"The database {where} is at revision {current}, which this ecrbot does not know "
            f"(it expects {want}): it was upgraded by a newer ecrbot. Run that version."
        )
    raise SchemaError(
        f"The database {where} is {found}. Run `ecrbot db upgrade` (with the same "
        "ECRBOT_DATABASE_URL), then start ecrbot again."
    )


def _known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {script.revision for script in scripts.walk_revisions()}
