"""The README's first command, run literally on what a fresh machine has.

A newcomer copies the "run the bot" line from README.md into a shell. This test does the same:
the line is read from README.md (so the test follows the README when it changes), run by bash
in a copy of the repository with a fresh virtual environment first on PATH and none of the
test suite's variables, under a pseudo-terminal. Only what that line installs is there: the
`sandbox` extra, never `dev`, so Celery and psycopg are missing as on a newcomer's machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bot.entrypoints import arguments
from tests.e2e.harness import ROOT
from tests.e2e.terminal import eof_at_prompt

PROMPT = "ecr> "
# Copied into the fresh tree: what `git clone` gives a newcomer (no var/, no build output).
IGNORED = shutil.ignore_patterns(
    ".git",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "mutants",
)

pytestmark = pytest.mark.timeout(900)  # pip installs the sandbox extra from the package index


def readme_commands() -> dict[str, str]:
    """The README's two commands, by what their comment says they do ("run the bot", ...)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no ```bash block"
    commands = {}
    for line in block.group(1).splitlines():
        command, _, comment = line.partition("   #")
        if comment:
            purpose = re.match(r"\s*(run the \w+)", comment)
            assert purpose, f"README command without a purpose: {line}"
            commands[purpose.group(1)] = command.strip()
    assert set(commands) == {"run the bot", "run the tests"}, commands
    return commands


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clone-like copy of the repository and a new venv's environment, nothing installed."""
    home = tmp_path_factory.mktemp("newcomer")
    tree = home / "ecrbot"
    shutil.copytree(ROOT, tree, ignore=IGNORED)
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
        "TMPDIR": str(home),
    }
    # pip's own settings (index, cache) are the machine's, as a newcomer's pip would read them.
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") and k not in env})
    yield tree, env


def test_readme_run_command_starts_the_sandbox_and_every_command_answers_help(
    fresh: tuple[Path, dict[str, str]],
) -> None:
    tree, env = fresh
    command = readme_commands()["run the bot"]
    assert "[dev]" not in command  # the newcomer's line installs no test extras

    child = pexpect.spawn(
        "bash",
        ["-c", command],
        cwd=str(tree),
        env=env,
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=600,
    )
    child.logfile_read = (tree.parent / "first-run.out").open("w")
    try:
        child.expect("sandbox console", timeout=600)  # after pip has installed it
        child.expect_exact(PROMPT, timeout=120)
        child.sendline("/ecr help")
        child.expect_exact("Build the app at a commit and")
        child.sendline("/ecr diagnose hello-web")
        child.expect(r"✅ Diagnose hello-web, requested by @alice", timeout=120)
        child.expect_exact("trust.subject", timeout=60)
        child.sendline("/ecr report")
        child.expect(r"3 repositories · \d+ images", timeout=120)
        eof_at_prompt(child)
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (tree.parent / "first-run.out").read_text()[-3000:]
    installed = subprocess.run(
        ["python3", "-m", "pip", "list", "--format=freeze"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    assert "celery" not in installed and "psycopg" not in installed  # truly the optional extras

    # Every subcommand's --help in the same venv: none imports an extra it doesn't need.
    _, commands = arguments.build()
    for name in commands:
        done = subprocess.run(
            ["ecrbot", name, "--help"],
            cwd=str(tree),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"ecrbot {name} --help: {done.stderr[-2000:]}"
        assert "usage:" in done.stdout.lower(), f"ecrbot {name} --help printed no usage"


def test_selecting_an_extra_that_is_not_installed_is_one_line_naming_it(
    fresh: tuple[Path, dict[str, str]],
) -> None:
    tree, env = fresh
    if shutil.which("ecrbot", path=env["PATH"]) is None:
        subprocess.run(
            ["python3", "-m", "pip", "install", "-q", ".[sandbox]"],
            cwd=str(tree),
            env=env,
            check=True,
            timeout=600,
        )
    celery = {
        **env,
        "SLACK_BOT_TOKEN": "xoxb-0-0-first-run",
        "SLACK_SIGNING_SECRET": "first-run",
        "ECRBOT_CONFIG": str(tree / "ecrbot.example.yml"),
        "ECRBOT_WORKER_BACKEND": "celery",
        "ECRBOT_BROKER_URL": "redis://127.0.0.1:1/0",
        "ECRBOT_DATABASE_URL": "postgresql+psycopg://ecrbot@127.0.0.1:1/ecrbot",
    }
    for argv, extra in (
        (["serve"], "celery"),
        (["worker"], "celery"),
        (["db", "upgrade"], "postgres"),
        (["jobs"], "postgres"),
    ):
        done = subprocess.run(
            ["ecrbot", *argv],
            cwd=str(tree),
            env=celery,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (argv, done.stderr[-2000:])
        assert f"pip install 'ecrbot[{extra}]'" in done.stderr, (argv, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (argv, done.stderr[-2000:])
