"""The report over every registry of the catalog (issue #16): each other registry grouped under
its name and environments, one that can't be read a line naming it and the error (never a
crash, the others still reported), and week-to-week changes kept apart per registry."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.checks.model import Fact
from bot.domain.models import RegistrySpec
from bot.domain.report import (
    AccessFinding,
    RegistryRead,
    ReportFigures,
    RepositoryInfo,
    SectionId,
    build_report,
    gap_sentence,
)
from bot.render import report as render
from bot.services.reports import ReportService
from tests.unit.test_report import NOW, entry, image, repo, snap

PROD = "210987654321"
REFUSED = "RoleAssumeFailed: could not assume arn:aws:iam::333333333333:role/r: AccessDenied"


def prod(*repos: RepositoryInfo, gaps: tuple[str, ...] = ()) -> RegistryRead:
    return RegistryRead(
        "prod",
        PROD,
        "eu-west-2",
        ("prod", "dr"),
        (entry("my-app"),),
        repositories=repos,
        gaps=gaps,
    )


def dr_refused() -> RegistryRead:
    return RegistryRead("dr", "333333333333", "eu-west-1", ("dr",), (), error=REFUSED)


def test_each_other_registry_is_a_group_of_its_own_sections() -> None:
    loose = repo("my-app", image("1"), lifecycle_policy=False)
    report = build_report(snap(repo("my-app", image("2")), registries=(prod(loose),)), None, NOW)
    (group,) = report.registries
    assert (group.name, group.environments, group.account_id) == ("prod", ("prod", "dr"), PROD)
    assert [s.id for s in group.sections] == [
        SectionId.COMPLIANCE,
        SectionId.VULNERABILITIES,
        SectionId.HYGIENE,
        SectionId.DRIFT,
    ]
    (missing,) = [i for s in group.sections for i in s.items if "lifecycle" in i.message]
    assert missing.registry == "prod" and missing.owner == "S0TEAM"
    assert missing.key.startswith("compliance: my-app in registry prod: ")
    # Home's sections are home's: its compliant repository has no item.
    home = next(s for s in report.sections if s.id is SectionId.COMPLIANCE)
    assert home.items == ()
    assert report.figures.repositories == 2 and report.figures.images == 2
    assert set(report.figures.storage_by_repository) == {"my-app", "prod:my-app"}
    assert missing.key in report.figures.open_items and missing in report.items


def test_a_registry_that_cant_be_read_is_a_line_naming_it_and_the_others_still_report() -> None:
    loose = repo("my-app", image("1"), lifecycle_policy=False)
    report = build_report(
        snap(repo("my-app", image("2")), registries=(dr_refused(), prod(loose))), None, NOW
    )
    dr, prod_group = report.registries
    assert dr.error == REFUSED and dr.sections == ()
    assert prod_group.error is None and prod_group.action_items == 1
    (gap,) = report.gaps
    assert gap_sentence(gap) == f"Repositories in registry dr could not be read: {REFUSED}"
    # Another registry's gap leaves home's sections complete.
    assert all(not s.gaps for s in report.sections)
    text = "\n".join(b["text"]["text"] for b in render.slack_blocks(report) if "text" in b)
    assert "*Registry dr (environments dr) · 333333333333 eu-west-1*" in text
    assert f"⚠️ Could not be read: {REFUSED}" in text
    assert "*Registry prod (environments prod, dr) · 210987654321 eu-west-2*" in text
    assert "and 2 more registries (dr, prod)" in render.headline(report)


def test_a_gap_in_one_registry_leaves_its_sections_incomplete_and_its_items_unverified() -> None:
    loose = repo("my-app", image("1"), lifecycle_policy=False)
    last = build_report(snap(repo("my-app", image("2")), registries=(prod(loose),)), None, NOW)
    fixed = repo("my-app", image("1"))
    # This week prod's listing is refused outright: what it held is unverified, never fixed.
    blind = snap(repo("my-app", image("2")), registries=(replace(dr_refused(), name="prod"),))
    unread = build_report(blind, last.figures, NOW)
    assert unread.changes.fixed == () and len(unread.changes.unverified) == 1
    # Read again and fixed, while home has a gap of its own: prod's item is fixed.
    home_gap = snap(repo("my-app", image("2")), gaps=("repositories: Throttling",))
    again = build_report(replace(home_gap, registries=(prod(fixed),)), last.figures, NOW)
    assert again.changes.fixed == last.figures.open_items
    # A part of prod that could not be read marks prod's sections, and only them.
    partial = build_report(
        snap(repo("my-app", image("2")), registries=(prod(loose, gaps=("scan findings: X",)),)),
        None,
        NOW,
    )
    vulns = [s for s in partial.registries[0].sections if s.id is SectionId.VULNERABILITIES]
    assert vulns[0].summary.startswith("Incomplete: Scan findings in registry prod could not")
    assert all(not s.gaps for s in partial.sections)


def test_the_detail_files_group_items_by_registry() -> None:
    loose = repo("my-app", image("1"), lifecycle_policy=False)
    report = build_report(
        snap(repo("my-app", image("2")), registries=(prod(loose), dr_refused())), None, NOW
    )
    md = render.detail_markdown(report)
    head = md.index("## Registry prod (environments prod, dr) · 210987654321 eu-west-2")
    assert md.index("### Compliance", head) > head
    assert "## Registry dr (environments dr) · 333333333333 eu-west-1\n\nCould not be read" in md
    csv = render.detail_csv(report)
    assert csv.splitlines()[1].endswith(",dr")  # the gap names its registry
    assert any(line.endswith(",prod") and "lifecycle" in line for line in csv.splitlines())
    assert '"registries": [' in render.as_json(report)


class _Reader:
    """The home registry's read: notes when it happens."""

    calls = 0

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def repositories(self, gaps: list[str]) -> tuple[tuple[RepositoryInfo, ...], bool]:
        self.order.append("home")
        return (repo("my-app", image("2")),), False

    def access(self, gaps: list[str]) -> tuple[AccessFinding, ...]:
        return ()


class _Facts:
    def key_users(self) -> Future[Fact[tuple[object, ...]]]:
        done: Future[Fact[tuple[object, ...]]] = Future()
        done.set_result(Fact(()))
        return done


class _Jobs:
    def since(self, moment: datetime) -> list[object]:
        return []


class _History:
    def history(self, limit: int = 12) -> list[ReportFigures]:
        return []

    def save(self, figures: ReportFigures) -> None:
        pass


def test_the_service_starts_the_other_registries_before_home_and_waits_after() -> None:
    order: list[str] = []

    def registries() -> Callable[[], tuple[RegistryRead, ...]]:
        order.append("started")

        def wait() -> tuple[RegistryRead, ...]:
            order.append("waited")
            return (dr_refused(), prod(repo("my-app", image("1"))))

        return wait

    service = ReportService(
        RegistrySpec("123456789012", "eu-west-2"),
        (entry("my-app"),),
        lambda: _Reader(order),
        lambda: _Facts(),  # type: ignore[arg-type,return-value]
        _Jobs(),  # type: ignore[arg-type]
        _History(),
        lambda report, history: None,  # type: ignore[arg-type,return-value]
        clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
        registries=registries,
    )
    snapshot = service.snapshot()
    assert order == ["started", "home", "waited"]
    assert [r.name for r in snapshot.registries] == ["dr", "prod"]
    assert snapshot.gaps == ()  # home's gaps only: the others' are scoped by the report


def test_registries_past_the_message_limit_are_named_not_dropped() -> None:
    many = tuple(replace(dr_refused(), name=f"r{n:02d}") for n in range(60))
    report = build_report(snap(repo("my-app", image("2")), registries=many), None, NOW)
    blocks = render.slack_blocks(report)
    assert len(blocks) <= 50
    said = blocks[-1]["elements"][0]["text"]
    assert "Registries only in the thread and files:" in said and "r59" in said


def test_another_registry_has_its_own_drift_in_its_own_account() -> None:
    """A missing target repository fails the app's promotion there; an unclaimed one has no
    owner. Both are said of prod, with the account the fix has to run in."""
    stray = repo("old-thing", image("1"))
    report = build_report(snap(repo("my-app", image("2")), registries=(prod(stray),)), None, NOW)
    (drift,) = [s for s in report.registries[0].sections if s.id is SectionId.DRIFT]
    missing, unclaimed = drift.items
    assert missing.message == (
        f"App my-app pushes to my-app, which does not exist in account {PROD}, eu-west-2."
    )
    assert missing.fix == (
        f"In account {PROD}: aws ecr create-repository --repository-name my-app "
        "--image-scanning-configuration scanOnPush=true --image-tag-mutability IMMUTABLE "
        "--region eu-west-2"
    )
    assert missing.key == "drift: my-app in registry prod: missing for my-app"
    assert unclaimed.fix == (
        "Give an app an environment with `registry: prod` and `repository: old-thing` in "
        "ecrbot.yml, or delete the repo."
    )
    # Home's drift is home's: its repository exists and is claimed.
    home = next(s for s in report.sections if s.id is SectionId.DRIFT)
    assert home.items == ()
