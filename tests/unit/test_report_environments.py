"""The report's Environments section (issue #16): which digests run where, and what waits in one
environment for the next, and for how long; a catalog without environments gets no section."""

from __future__ import annotations

from bot.domain.report import EnvironmentImages, Level, SectionId, build_report, gap_sections
from tests.unit.test_report import NOW, image, repo, snap

V1, V2, V3 = image("1", ("1.0.0", "a" * 40), days=40), image("2", ("1.1.0",), days=3), image("3")


def report_of(*envs: EnvironmentImages, home: tuple = (V1, V2, V3)) -> list:  # type: ignore[type-arg]
    built = build_report(snap(repo("my-app", *home), environments=envs), None, NOW)
    return [section for section in built.sections if section.id is SectionId.ENVIRONMENTS]


def test_no_environments_no_section() -> None:
    assert report_of() == []


def test_which_digests_run_where_and_what_waits_for_how_long() -> None:
    staging = EnvironmentImages("my-app", "staging", "home", "my-app-staging", (V1, V2))
    prod = EnvironmentImages("my-app", "prod", "prod", "my-app", (V1,))
    (section,) = report_of(staging, prod)
    (runs,) = [item.message for item in section.items if item.key.endswith(": runs")]
    assert runs == "my-app: home 1.0 · staging 1.1.0 · prod 1.0.0"  # each one's newest
    waiting = {
        item.message.split(" (")[0]: item for item in section.items if "not yet in" in item.message
    }
    # home -> staging: the newest (a day old); staging -> prod: 1.1.0 (V1 is in prod already).
    assert set(waiting) == {"my-app 1.0", "my-app 1.1.0"}
    assert "for 3 days, not yet in prod" in waiting["my-app 1.1.0"].message
    assert waiting["my-app 1.1.0"].fix == "/ecr promote my-app 1.1.0 prod"
    assert all(w.level is Level.INFO for w in waiting.values())  # under two weeks: the record


def test_waiting_past_two_weeks_is_worth_a_look_and_untagged_images_never_wait() -> None:
    old = image("4", ("2.0.0",), days=20)
    untagged = image("5", (), days=30)
    staging = EnvironmentImages("my-app", "staging", "home", "s", (old, untagged))
    prod = EnvironmentImages("my-app", "prod", "prod", "my-app", ())
    (section,) = report_of(staging, prod, home=(old, untagged))
    waiting = [item for item in section.items if "not yet in prod" in item.message]
    assert len(waiting) == 1 and waiting[0].level is Level.LOW and "20 days" in waiting[0].message


def test_an_environment_that_cant_be_read_is_a_gap_of_this_section_only() -> None:
    assert gap_sections("environment prod of my-app: AccessDenied") == frozenset(
        {SectionId.ENVIRONMENTS}
    )
