"""Diagnose against moto and the GitHub API stand-in: the subject form GitHub says, the claims
STS passes, each GitHub endpoint read once (issue #15).

GitHub: Changelog 2026-04-23 "Immutable subject claims for GitHub Actions OIDC tokens" and the
REST API for Actions OIDC at version 2026-03-10 (`use_immutable_subject`, `sub_claim_prefix`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.checks.model import Report, Status
from bot.services.diagnose import DiagnoseRequest
from tests.diagnose_seed import OWNER_ID, MotoSession, Platform, diagnoser_for, repository_id
from tests.e2e.harness import service_env
from tests.standins.github_api import GitHubStandIn, Repo

pytestmark = pytest.mark.integration
TOKEN = "ghp_diagnose"  # a stand-in token, never a real one


@pytest.fixture(scope="module")
def services() -> dict[str, str]:
    return service_env()


@pytest.fixture(scope="module")
def platform(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return Platform(MotoSession(services["AWS_ENDPOINT_URL"]), tmp_path_factory.mktemp("gh"))


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with GitHubStandIn() as standin:
        standin.token(TOKEN)
        yield standin


def run(
    services: dict[str, str], tmp: Path, platform: Platform, github: GitHubStandIn, name: str,
    *, immutable: bool, subject: str | None = None, flag: bool | None = None,
) -> tuple[Report, str]:  # fmt: skip
    app = platform.app(name, trust_subject=subject)
    repo = Repo(id=repository_id(app.name), owner_id=OWNER_ID, immutable=immutable)
    if flag is not None:  # GitHub's flag disagreeing with its prefix (Azure/azure-dev#9382)
        repo.immutable = flag
        repo.prefix = f"repo:acme@{OWNER_ID}/{app.name}@{repository_id(app.name)}"
    github.state.requests.clear()
    github.repo(app.github, repo)
    settings = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN}
    return diagnoser_for(services, tmp, app, settings).run(DiagnoseRequest(app.name)), app.name


def lines(report: Report, check: str) -> list[str]:
    return [f"{r.status}: {r.summary}" for r in report.results if r.id == check]


def test_a_name_only_trust_fails_for_a_repository_on_immutable_subjects(
    services: dict[str, str], tmp_path: Path, platform: Platform, github: GitHubStandIn
) -> None:
    name_only = "repo:acme/{name}:ref:refs/heads/main"
    report, name = run(
        services, tmp_path, platform, github, "gh-renamed", immutable=True, subject=name_only
    )
    immutable = f"repo:acme@{OWNER_ID}/{name}@{repository_id(name)}"
    [trust] = [r for r in report.results if r.id == "trust.subject"]
    assert trust.status is Status.FAIL, trust.summary
    assert f"{immutable}:ref:refs/heads/main" in trust.summary
    assert f"{immutable}:ref:refs/heads/main" in trust.remediation
    [subject] = lines(report, "oidc.subject")
    assert subject.startswith("pass") and f"{immutable} (the immutable form)" in subject
    # Each GitHub endpoint once (no org template: the repository uses the default), with the
    # API version that answers the prefix, and the token only in the Authorization header.
    paths = Counter(path for path, _ in github.state.requests)
    assert paths == {
        f"/repos/acme/{name}/actions/oidc/customization/sub": 1,
        f"/repos/acme/{name}": 1,
    }
    assert TOKEN not in str(report)


def test_the_prefix_decides_when_the_flag_disagrees(
    services: dict[str, str], tmp_path: Path, platform: Platform, github: GitHubStandIn
) -> None:
    # The seeded policy trusts both forms (the immutable one with the seeded IDs).
    report, _ = run(services, tmp_path, platform, github, "gh-odd", immutable=True, flag=False)
    assert {r.status for r in report.results if r.id == "trust.subject"} == {Status.PASS}
    [subject] = lines(report, "oidc.subject")
    assert "use_immutable_subject: false; ecrbot follows the prefix" in subject


def test_a_name_only_repository_passes_and_the_fix_prepares_a_rename(
    services: dict[str, str], tmp_path: Path, platform: Platform, github: GitHubStandIn
) -> None:
    report, name = run(services, tmp_path, platform, github, "gh-legacy", immutable=False)
    # The seeded policy trusts both forms: GitHub says the name-only one is presented.
    trust = [r for r in report.results if r.id == "trust.subject"]
    assert {r.status for r in trust} == {Status.PASS}
    assert f"trusts repo:acme/{name}:ref:refs/heads/main" in trust[0].summary
    problems = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    assert problems == [], problems
