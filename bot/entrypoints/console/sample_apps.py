"""The sandbox's sample apps: local git repositories with a FROM-scratch Dockerfile (Debian's
static busybox when it is installed) and a GitHub Actions workflow for diagnose to read."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

WORKFLOW = """name: push
on:
  push:
    branches: [main]
jobs:
  build-and-push:
    runs-on: ubuntu-latest
    permissions:
{permissions}
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: {role}
          aws-region: {region}
      - run: ecrbot push --app {name} --sha ${{{{ github.sha }}}}
"""


def sample_app(
    path: Path, name: str, role: str, region: str, permissions: str, busybox: Path | None
) -> str:
    """A git repository with a FROM-scratch Dockerfile and the app's workflow; returns HEAD."""
    workflows = path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "push.yml").write_text(
        WORKFLOW.format(permissions=permissions, role=role, region=region, name=name)
    )
    (path / "index.html").write_text(f"<h1>{name}</h1>\n")
    lines = ["FROM scratch", "COPY index.html /srv/index.html"]
    if busybox is not None:
        shutil.copy(busybox, path / "busybox")
        lines += [
            "COPY busybox /bin/busybox",
            'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-v", "-h", "/srv"]',
        ]
    (path / "Dockerfile").write_text("\n".join(lines) + "\n")
    _git(path, "init", "--quiet", "--initial-branch=main")
    _git(path, "add", "-A")
    _git(path, "-c", "commit.gpgsign=false", "commit", "--quiet", "-m", f"{name}: first version")
    return _git(path, "rev-parse", "HEAD")


def _git(cwd: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "sandbox", "GIT_AUTHOR_EMAIL": "sandbox@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "sandbox", "GIT_COMMITTER_EMAIL": "sandbox@example.com"}
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **identity},
    )
    return result.stdout.strip()
