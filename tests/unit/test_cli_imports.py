"""`ecrbot diagnose` loads only what it uses (issue #12: CI runs it on every pull request, and
imports were 0.93 s of its 1.65 s; `python -X importtime` shows where they go)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "matplotlib",
    "slack_sdk",
    "sqlalchemy",
    "alembic",
    "docker",
    "rich",
    "celery",
    "requests",
    "bot.domain.report",  # the health report's domain: 0.05 s of imports
)

PROBE = """
import json, sys
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.entrypoints import cli  # noqa: F401
from bot.bootstrap import build_cli_adapters
from bot.render import diagnose_text  # noqa: F401

catalog = Catalog.model_validate(
    {"registry": {"account_id": "123456789012", "region": "eu-west-2"},
     "apps": {"app": {"source": "/nowhere"}}}
)
build_cli_adapters(Settings()).diagnoser(catalog)
print(json.dumps(sorted(m for m in %r if m in sys.modules)))
"""


def test_building_the_diagnoser_loads_no_slack_report_database_or_docker_code(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ECRBOT_WORK_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# `ecrbot push` needs botocore and docker; not boto3 (s3transfer), Slack, the database, the
# report, rich without a TTY, or diagnose's checks (issue #19: 0.69 s passed before its checkout
# started).
PUSH_HEAVY = (
    "boto3",
    "s3transfer",
    "matplotlib",
    "slack_sdk",
    "sqlalchemy",
    "alembic",
    "rich",
    "celery",
    "bot.domain.checks",
    "bot.domain.iam.evaluation",
    "bot.domain.workflow.analysis",
    "bot.services",
)

PUSH_PROBE = """
import io, json, sys
from bot.entrypoints import cli, push  # noqa: F401
from bot.adapters import aws, engine, source  # noqa: F401
from bot.adapters.terminal_progress import TerminalProgress
from bot.bootstrap import prefetch  # noqa: F401
from bot.config_catalog import Catalog
from bot.domain import pipeline  # noqa: F401

Catalog.model_validate(
    {"registry": {"account_id": "123456789012", "region": "eu-west-2"},
     "apps": {"app": {"source": "/nowhere", "oidc_subject_keys": ["repo"]}}}
)
TerminalProgress(io.StringIO(), io.StringIO())
print(json.dumps(sorted(m for m in %r if m in sys.modules)))
"""


def test_the_push_path_loads_no_slack_database_report_rich_or_diagnose_code(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PUSH_PROBE % (PUSH_HEAVY,)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ECRBOT_WORK_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# `ecrbot promote` already there: no SQLAlchemy for its lock and job reads from a SQLite file at
# head (bot/adapters/sqlite_reads.py: it was ~0.18 s of the ~0.6 s of CPU), nor Slack or docker.
PROMOTE_HEAVY = ("sqlalchemy", "alembic", "slack_sdk", "docker", "celery", "matplotlib", "rich")

PROMOTE_PROBE = """
import json, sys
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.entrypoints import cli
from bot.bootstrap import build_cli_adapters

settings = Settings(database_url=%r)
assert not cli._no_database(settings)
catalog = Catalog.model_validate(
    {"registry": {"account_id": "123456789012", "region": "eu-west-2"},
     "apps": {"app": {"source": "/nowhere", "environments": [{"name": "prod", "registry": "home",
                                                    "repository": "app-prod"}]}}}
)
build_cli_adapters(settings).promotions(catalog)
print(json.dumps(sorted(m for m in %r if m in sys.modules)))
"""


def test_the_promote_path_reads_sqlite_without_sqlalchemy(tmp_path: Path) -> None:
    from bot.adapters.store import SqlJobStore

    url = f"sqlite:///{tmp_path}/ecrbot.db"
    SqlJobStore(url).engine.dispose()  # a database at head
    done = subprocess.run(
        [sys.executable, "-c", PROMOTE_PROBE % (url, PROMOTE_HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ECRBOT_WORK_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
