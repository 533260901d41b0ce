"""Checks declare themselves: `@app_check(id, summary)` on one function that emits that one id.

The list of check ids (`CHECK_IDS`, a contract the README documents) is read from these
declarations, so adding a check is one decorated function; nothing else lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Generic, TypeVar

from bot.domain.checks.model import AppFacts, CheckResult, PlatformFacts

Facts = TypeVar("Facts", AppFacts, PlatformFacts)
Run = Callable[[Facts], list[CheckResult]]


@dataclass(frozen=True)
class Check(Generic[Facts]):
    """One check: its id, what it checks (the README's words), and the function that does it."""

    id: str
    summary: str
    module: str
    run: Callable[[Facts], list[CheckResult]]

    def __call__(self, facts: Facts) -> list[CheckResult]:
        results = self.run(facts)
        strays = sorted({r.id for r in results} - {self.id})
        if strays:  # one id per function: a result under another id is a misfiled check
            raise ValueError(f"check {self.id} emitted results for {', '.join(strays)}")
        return results


APP: list[Check[AppFacts]] = []
PLATFORM: list[Check[PlatformFacts]] = []


def app_check(check_id: str, summary: str) -> Callable[[Run[AppFacts]], Run[AppFacts]]:
    """Declare a check over one app's snapshot; the function stays callable as it is."""

    def declare(run: Run[AppFacts]) -> Run[AppFacts]:
        _add(APP, Check(check_id, summary, run.__module__, run))
        return run

    return declare


def platform_check(
    check_id: str, summary: str
) -> Callable[[Run[PlatformFacts]], Run[PlatformFacts]]:
    """Declare a check of the bot's own platform (`/ecr diagnose` with no app)."""

    def declare(run: Run[PlatformFacts]) -> Run[PlatformFacts]:
        _add(PLATFORM, Check(check_id, summary, run.__module__, run))
        return run

    return declare


def _add(checks: list[Check[Facts]], check: Check[Facts]) -> None:
    known = {c.id for c in APP} | {c.id for c in PLATFORM}
    if check.id in known:
        raise ValueError(f"check id {check.id} is declared twice")
    checks.append(check)


def in_order(checks: Sequence[Check[Facts]], modules: Sequence[ModuleType]) -> list[Check[Facts]]:
    """The checks by their module's place in `modules`, then in the order each file declares
    them: the checklist's order does not hang on the order imports happen to be sorted in."""
    place = {module.__name__: index for index, module in enumerate(modules)}
    unlisted = sorted({c.module for c in checks} - set(place))
    if unlisted:
        raise ValueError(f"check modules missing from the checklist's order: {unlisted}")
    declared = {id(check): index for index, check in enumerate(checks)}
    return sorted(checks, key=lambda c: (place[c.module], declared[id(c)]))
