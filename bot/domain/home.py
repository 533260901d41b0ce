"""What a person's App Home tab shows (the service gathers it, the render layer draws it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.approvals import Approval
from bot.domain.locks import Lock
from bot.domain.models import Job
from bot.domain.promotion_runs import ListedPromotion
from bot.domain.report import ReportFigures


@dataclass(frozen=True)
class HomeView:
    user: str
    mine: tuple[Job, ...]
    active: tuple[Job, ...]  # queued and running now, that this person may see
    last_report: ReportFigures | None
    pushable: tuple[str, ...]  # apps this person may push
    diagnosable: tuple[str, ...]  # apps this person may diagnose
    may_preview_report: bool
    promotable: tuple[tuple[str, str], ...] = ()  # (app, environment) this person may promote to
    locks: tuple[Lock, ...] = ()  # every lock, for those who may read them
    approvals: tuple[Approval, ...] = ()  # open requests they asked for or may decide
    # Who may approve each of them (by approval id): the environment's approvers.
    approvers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    promotions: tuple[ListedPromotion, ...] = ()  # recent ones this person may see
