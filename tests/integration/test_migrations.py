"""The schema is Alembic's: created at head when empty, upgraded by `ecrbot db upgrade` from
any earlier schema (also from before migrations), refused at start when old or newer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.adapters.report_store import SqlReportHistory
from bot.adapters.schema import SchemaError, audit_log, head, metadata, revision, upgrade
from bot.adapters.store import SqlJobStore
from bot.domain.models import JobState
from tests.databases import database

pytestmark = pytest.mark.integration

# The jobs table as the releases before migrations created it (with metadata.create_all),
# without the columns the first release lacked (`steps`, `reply_url`).
OLD = sa.MetaData()
OLD_JOBS = sa.Table(
    "jobs",
    OLD,
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


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    # Index names and server defaults differ in spelling only between create_all and op.*.
    return [
        d for d in found if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))
    ]


def test_upgrade_from_an_empty_database_gives_the_models_schema(url: str) -> None:
    engine = sa.create_engine(url)
    assert upgrade(engine) == (None, head())
    assert revision(engine) == head()
    assert differences(engine) == []
    SqlJobStore(url).create("k", {"app": "a", "sha": "1a2b3c4", "requested_by": "U1"})


def test_an_empty_database_is_created_at_head_when_the_bot_starts(url: str) -> None:
    store = SqlJobStore(url)
    engine = sa.create_engine(url)
    assert revision(engine) == head()
    assert differences(engine) == []
    job, _ = store.create("k", {"app": "a", "sha": "1a2b3c4", "requested_by": "U1"})
    assert store.get(job.id) is not None and job.worker is None


def test_a_database_from_before_migrations_is_refused_then_upgraded_with_its_jobs(
    url: str,
) -> None:
    engine = sa.create_engine(url)
    OLD.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            OLD_JOBS.insert().values(
                request_key="old",
                app="my-app",
                sha="1a2b3c4",
                requested_by="U1",
                state="succeeded",
                created_at=datetime.now(UTC),
            )
        )
    with pytest.raises(SchemaError, match=r"before ecrbot's migrations.*ecrbot db upgrade"):
        SqlJobStore(url)

    assert upgrade(engine) == (None, head())
    assert differences(engine) == []
    store = SqlJobStore(url)
    old = store.by_key("old")
    assert old is not None and old.state is JobState.SUCCEEDED and old.step_durations == {}
    new, _ = store.create("new", {"app": "my-app", "sha": "1a2b3c4", "requested_by": "U1"})
    assert new.id > old.id
    SqlReportHistory(url).history()


def test_an_older_revision_is_refused_until_upgraded(url: str) -> None:
    engine = sa.create_engine(url)
    from alembic import command

    from bot.adapters.schema import alembic_config

    with engine.begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with pytest.raises(SchemaError, match=r"at revision 0001, older than .*ecrbot db upgrade"):
        SqlJobStore(url)
    assert upgrade(engine) == ("0001", head())
    SqlJobStore(url)


def test_a_database_upgraded_by_a_newer_ecrbot_is_refused(url: str) -> None:
    engine = sa.create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="upgraded by a newer ecrbot"):
        SqlJobStore(url)


def upgrade_to(url: str, target: str) -> None:
    from alembic import command

    from bot.adapters.schema import alembic_config

    with sa.create_engine(url).begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, target)


def assert_append_only(engine: sa.Engine) -> None:
    """An audit row goes in; no UPDATE or DELETE takes it out again."""
    with engine.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                at=datetime.now(UTC), user="U1", kind="command", action="push", outcome="ok"
            )
        )
    for statement in (audit_log.update().values(outcome="error"), audit_log.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"):  # noqa: SIM117
            with engine.begin() as conn:
                conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(sa.select(audit_log.c.outcome)).scalars().all() == ["ok"]


def test_0003_adds_the_audit_log_and_the_event_ledger_to_a_0002_database(url: str) -> None:
    upgrade_to(url, "0002")
    engine = sa.create_engine(url)
    with pytest.raises(SchemaError, match=r"at revision 0002, older than .*ecrbot db upgrade"):
        SqlJobStore(url)
    assert {"audit_log", "slack_events", "triage_threads"}.isdisjoint(
        sa.inspect(engine).get_table_names()
    )

    assert upgrade(engine) == ("0002", head())
    assert {"audit_log", "slack_events", "triage_threads"} <= set(
        sa.inspect(engine).get_table_names()
    )
    assert differences(engine) == []
    indexed = {tuple(i["column_names"]) for i in sa.inspect(engine).get_indexes("audit_log")}
    assert {("at",), ("app",)} <= indexed
    assert_append_only(engine)
    SqlJobStore(url)


def test_an_empty_database_created_at_head_has_the_append_only_triggers(url: str) -> None:
    SqlJobStore(url)
    assert_append_only(sa.create_engine(url))


def test_0003_downgrades_cleanly(url: str) -> None:
    from alembic import command

    from bot.adapters.schema import alembic_config

    engine = sa.create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert "audit_log" not in sa.inspect(engine).get_table_names()
    assert upgrade(engine) == ("0002", head())
    assert_append_only(engine)


def test_0010_keeps_the_digest_each_finished_job_pushed(url: str) -> None:
    """Provenance moves into `pushed_digest`: jobs finished before 0010 get theirs from their
    results (a result from before `pushed` existed was a push; a reuse, a failure, a result
    that is not a push's JSON get none)."""
    upgrade_to(url, "0009")
    engine = sa.create_engine(url)
    pushed, reused = "sha256:" + "a" * 64, "sha256:" + "b" * 64

    def result(digest: str, pushed: bool | None) -> str:
        return json.dumps({"digest": digest} | ({} if pushed is None else {"pushed": pushed}))

    results = {
        "pushed": ("succeeded", result(pushed, True)),
        "before-pushed-existed": ("succeeded", result(pushed, None)),
        "reused": ("succeeded", result(reused, False)),
        "failed": ("failed", result(pushed, True)),
        "not-a-digest": ("succeeded", result("latest", True)),
        "not-json": ("succeeded", "{"),
        "json-not-an-object": ("succeeded", "[1, 2]"),
        "no-result": ("succeeded", None),
    }
    with engine.begin() as conn:
        for key, (state, text) in results.items():
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (request_key, app, sha, requested_by, state, created_at, "
                    "result, cancel_requested) VALUES (:key, 'my-app', 'abc1234', 'U1', :state, "
                    ":at, :result, false)"
                ),
                {"key": key, "state": state, "at": datetime.now(UTC), "result": text},
            )
    assert upgrade(engine) == ("0009", head())
    assert differences(engine) == []
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT request_key, pushed_digest FROM jobs")).all()
    found: dict[str, str | None] = {key: digest for key, digest in rows}
    assert found == {
        "pushed": pushed,
        "before-pushed-existed": pushed,
        "reused": None,
        "failed": None,
        "not-a-digest": None,
        "not-json": None,
        "json-not-an-object": None,
        "no-result": None,
    }
