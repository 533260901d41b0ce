"""`ecrbot console --sandbox` driven through a pseudo-terminal, as a person would type at it.

With the test services up, the sandbox uses them: `push` really builds and pushes. Without them
(ECRBOT_TEST_SERVICES_ENV=none) it starts its own moto: diagnose and report still work, and
push says what to install.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.e2e.harness import ROOT, SERVICES_ENV, ecr, unique
from tests.e2e.terminal import eof_at_prompt

PROMPT = "ecr> "


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[list[pexpect.spawn]]:
    children: list[pexpect.spawn] = []
    yield children
    for child in children:  # never leave a console (or its moto) behind
        if child.isalive():
            child.terminate(force=True)


def console(spawned: list[pexpect.spawn], tmp: Path, **env: str) -> pexpect.spawn:
    variables = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECRBOT_", "SLACK_"))},
        "TERM": "dumb",
        "NO_COLOR": "1",
        "HOME": str(tmp),
        **env,
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot", "console", "--sandbox"],
        cwd=str(ROOT),
        env=variables,
        dimensions=(50, 200),
        encoding="utf-8",
        timeout=30,
    )
    child.logfile_read = (tmp / "console.out").open("w")
    spawned.append(child)
    return child


def test_sandbox_push_diagnose_report(
    spawn: list[pexpect.spawn], tmp_path: Path, services: dict[str, str]
) -> None:
    leftover = ecr(services).create_repository(repositoryName=unique("leftover"))
    assert leftover  # something in the test services' moto the sandbox must not show
    child = console(
        spawn, tmp_path, ECRBOT_WORK_DIR=str(tmp_path), ECRBOT_TEST_SERVICES_ENV=str(SERVICES_ENV)
    )
    child.expect(r"push hello-web ([0-9a-f]{7})")
    sha = child.match.group(1)
    child.expect_exact(PROMPT)

    child.sendline("help")
    for usage in ("/ecr push <app> <sha> [version]", "/ecr diagnose [app]", "/ecr report"):
        child.expect_exact(usage)
    child.expect_exact("/ecr jobs")
    child.expect_exact("/ecr cancel <job>")

    child.sendline("/ecr diagnose billing-api")
    child.expect_exact("Diagnosing billing-api")
    child.expect(r"❌ workflow\.id_token [^\r\n]*gets no OIDC token")
    child.expect_exact("Fix:")
    child.expect_exact("id-token: write")

    child.sendline("report --dry-run")
    child.expect(r"Registry health · 123456789012 eu-west-2")
    # The sandbox's own moto: its three sample repositories, none of the suite's leftovers.
    child.expect(r"3 repositories · 4 images")
    child.expect_exact("Catalog drift: 1 difference")

    child.sendline(f"push hello-web {sha}")
    child.expect(r"Queued hello-web as job (\d+)")
    job = child.match.group(1)
    child.expect(rf"job {job} · ✅ Checked out {sha}")
    child.expect(r"Digest sha256:[0-9a-f]{64}", timeout=60)
    child.expect(rf"job {job} · ✅ Done in [\d.]+ s: sha256:[0-9a-f]{{64}}", timeout=30)

    child.sendline("exit")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0


def test_sandbox_without_test_services_diagnoses_reports_and_says_what_push_needs(
    spawn: list[pexpect.spawn], tmp_path: Path
) -> None:
    child = console(spawn, tmp_path, ECRBOT_TEST_SERVICES_ENV="none", TMPDIR=str(tmp_path))
    child.expect(r"AWS is an embedded moto at http://127\.0\.0\.1:\d+; files in (\S+)")
    root = Path(child.match.group(1))
    child.expect_exact("push needs a Docker engine and a local registry")
    child.expect_exact("scripts/test-services up")
    child.expect_exact(PROMPT)

    child.sendline("diagnose billing-api")
    child.expect(r"❌ Diagnose billing-api, requested by @alice: \d+ problems stop pushes")
    child.expect(r"❌ workflow\.id_token")
    child.expect_exact("id-token: write")

    child.sendline("report --dry-run")
    child.expect(r"3 repositories · 4 images")

    # A pasted error is a message in the support channel: triage answers it in its thread.
    child.sendline("Error response from daemon: no basic auth credentials")
    child.expect_exact("Docker had no credentials for the registry")
    child.expect_exact("get-login-password")

    child.sendline("push hello-web 1234567")
    child.expect_exact("push needs a Docker engine")

    child.sendline("retry 1")  # the Retry button's command, through the real action handler
    child.expect(re.escape("⚠") + r"[^\r\n]*job 1")

    eof_at_prompt(child)
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    assert root.is_relative_to(tmp_path) and not root.exists()  # a temporary sandbox is removed


def test_serve_without_a_slack_token_starts_the_sandbox_console() -> None:
    """The README's run command on a terminal with no Slack token: the offline sandbox."""

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(TERM="dumb", NO_COLOR="1", ECRBOT_TEST_SERVICES_ENV="none")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot", "serve"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    try:
        child.expect("sandbox console")
        child.sendline("/ecr diagnose billing-api")
        child.expect("workflow.id_token")
        child.sendline("exit")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
