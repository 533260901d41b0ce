"""The layers hold (issue #17): the import-linter contracts in `.importlinter` are kept, and
importing the Slack listeners loads no adapter's library.

`scripts/test` runs `lint-imports` too; this runs it again so that a plain `pytest` checks the
contracts, and so that a broken one fails with the chain of imports that breaks it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the adapters and the composition root bring; the listeners must reach none of it
# (handlers/context.py types them by the services' Protocols, not by bootstrap's Services).
ADAPTER_LIBRARIES = (
    "boto3",
    "botocore",
    "s3transfer",
    "docker",
    "celery",
    "kombu",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "matplotlib",
    "requests",
)
PROBE = """
import json, sys
import handlers  # noqa: F401
roots = sorted({name.split(".")[0] for name in sys.modules} & set(%r))
print(json.dumps({"modules": len(sys.modules), "adapter_libraries": roots}))
"""


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_the_layer_contracts_are_kept(tmp_path: Path) -> None:
    done = _python(
        "from importlinter.cli import lint_imports_command\n"
        "lint_imports_command(['--no-cache', '--no-logo'])",
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_importing_the_listeners_loads_no_aws_docker_celery_sql_or_chart_code(
    tmp_path: Path,
) -> None:
    done = _python(PROBE % (ADAPTER_LIBRARIES,), tmp_path)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["adapter_libraries"] == []
    # 1,596 modules before the listeners stopped importing the composition root, about 490
    # after; a ceiling well above that catches a heavy library this list does not name.
    assert loaded["modules"] < 800, loaded
