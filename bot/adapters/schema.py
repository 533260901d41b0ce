"""The bot's tables, and the one rule for its database's schema: Alembic's head, or refuse.

An empty database is created at the head revision (nothing to migrate); a database at an older
revision, or from before migrations existed, is brought up by `ecrbot db upgrade` and refused
until then; a database newer than this code is refused too. Migrations live in `migrations/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.adapters import table_names
from bot.adapters.table_names import JOBS, LOCKS, head_from_files

# Re-exported: the tests and older callers catch it from here.
from bot.domain.errors import SchemaError as SchemaError

if TYPE_CHECKING:
    from alembic.config import Config

metadata = sa.MetaData()

jobs = sa.Table(
    JOBS,
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
    # The digest of the image the job built and pushed itself (0010; None for a reuse): the
    # provenance a later push of the commit is checked against, read by one indexed query.
    sa.Column("pushed_digest", sa.String(80)),
    sa.Index("jobs_pushed_by_commit", "app", "full_sha", "pushed_digest"),
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

# Who did what, where, when and how it ended (0003). Append-only: the database itself refuses
# UPDATE and DELETE (the triggers below), so a bug or a hand with SQL can't rewrite history.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("user", sa.String(64), nullable=False),  # a Slack user id, or "ecrbot"
    sa.Column("kind", sa.String(32), nullable=False),  # command, button, shortcut, modal...
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("app", sa.String(200), index=True),
    sa.Column("channel", sa.String(64)),
    sa.Column("detail", sa.Text),  # at most 1,000 characters (the store clips)
    sa.Column("outcome", sa.String(32), nullable=False),  # ok, refused, error, usage, duplicate
    sa.Column("reason", sa.Text),  # at most 500 characters
    # 0004: the job the request made or acted on, and the hash chain (bot/domain/audit_chain.py)
    # that shows a row changed by someone the triggers don't stop (the database's owner).
    sa.Column("job", sa.Integer),
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
)

# Events API deliveries already handled: Slack retries an event up to 3 times (0003).
# Shared by the replicas (0005): a seen request signature or a rate-limit slot in use, until it
# expires. The primary key is what makes "first" mean first across processes.
request_marks = sa.Table(
    "request_marks",
    metadata,
    sa.Column("mark", sa.String(200), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("request_marks_expiry", "expires_at"),
)

slack_events = sa.Table(
    "slack_events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# Support-channel threads triage already answered, so it answers each once (0003).
triage_threads = sa.Table(
    "triage_threads",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("thread_ts", sa.String(32), primary_key=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
)

# Locks on an app ('' for the whole app) or one of its environments (0006). In the database,
# not in memory: a lock must survive a restart and hold on every replica.
locks = sa.Table(
    LOCKS,
    metadata,
    sa.Column("app", sa.String(200), primary_key=True),
    sa.Column("environment", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("locked_by", sa.String(64), nullable=False),
    sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
)

# Promotions awaiting (or past) a second person's approval (0007): bound to one digest, with an
# expiry; in the database so an Approve clicked after a restart, or on another replica, finds it.
approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("app", sa.String(200), nullable=False),
    sa.Column("ref", sa.String(128), nullable=False),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("tags", sa.String(300), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(64)),
    sa.Column("thread_ts", sa.String(32)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    # The failing findings of the scan gate when asked (NULL: passed or no gate), comma-joined.
    sa.Column("gate", sa.String(300)),
)

# Promotions as ecrbot records them (issue #16): their buttons (Cancel, Retry) work on any
# replica and after a restart; the newest succeeded one per app and environment is what the
# environment runs, as far as ecrbot knows (the commits an approver reads).
promotions = sa.Table(
    "promotions",
    metadata,
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
    sa.Index("promotions_by_target", "app", "environment", "state"),
    sa.Index("promotions_by_state", "state", "updated_at"),
)

# The triggers each dialect needs on audit_log, by name: checked at start (audit_store.py).
APPEND_ONLY_TRIGGERS = {
    "sqlite": frozenset({"audit_log_no_update", "audit_log_no_delete"}),
    "postgresql": frozenset({"audit_log_no_change", "audit_log_no_truncate"}),
}
# The same statements as migration 0003's, for a database created empty at head.
APPEND_ONLY_SQLITE = tuple(
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for verb in ("UPDATE", "DELETE")
)
APPEND_ONLY_POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    # TRUNCATE skips row triggers: refuse it too.
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _append_only(_table: sa.Table, connection: sa.Connection, **_: object) -> None:
    statements = {"sqlite": APPEND_ONLY_SQLITE, "postgresql": APPEND_ONLY_POSTGRESQL}
    for statement in statements.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


sa.event.listen(audit_log, "after_create", _append_only)

MIGRATIONS = table_names.MIGRATIONS


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    """The newest migration. Read from the files' `revision` and `down_revision` lines when
    they make one line of history (they do: one file per step): Alembic, imported and made to
    import every migration, cost each process start about 0.1 s, `ecrbot promote` included.
    Anything else (a branch, a merge, a line not understood) is Alembic's to answer."""
    return _head_from_files() or _alembic_head()


def _head_from_files() -> str | None:
    return head_from_files(MIGRATIONS)


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return _current(conn, set(sa.inspect(conn).get_table_names()))


def _current(conn: sa.Connection, tables: set[str]) -> str | None:
    """The revision Alembic stamped (its `alembic_version` table), read without Alembic."""
    if "alembic_version" not in tables:
        return None
    found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:  # several heads: Alembic's own reading of them
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()
    return str(found[0]) if found else None


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """`ecrbot db upgrade`: apply every migration not applied yet; returns (from, to)."""
    from alembic import command

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
        tables = set(sa.inspect(conn).get_table_names())
        current = _current(conn, tables)
        if current is None and not tables & set(metadata.tables):
            from alembic.runtime.migration import MigrationContext
            from alembic.script import ScriptDirectory

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
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {script.revision for script in scripts.walk_revisions()}
