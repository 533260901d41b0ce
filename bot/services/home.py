"""App Home: a person's jobs, what runs now, the last report, and what they may start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor

from bot.domain.access import Access, Action
from bot.domain.approvals import Approval
from bot.domain.errors import NotAuthorized, SourceBusy
from bot.domain.home import HomeView
from bot.domain.locks import Lock
from bot.domain.models import AppSpec, Job
from bot.domain.promotion_runs import ListedPromotion
from bot.domain.report import ReportFigures

log = logging.getLogger(__name__)

MINE = 10  # the person's recent jobs shown
ACTIVE = 15  # queued and running jobs shown
COMMIT_CHECK_S = 2.0  # of Slack's 3 s for a modal submission


class HomeService:
    def __init__(
        self,
        recent: Callable[[str, int], list[Job]],
        history: Callable[[], list[ReportFigures]],
        apps: Callable[[], list[AppSpec]],
        access: Access,
        publish: Callable[[HomeView], None],
        pool: Executor,
        commit: Callable[[AppSpec, str, float], str] | None = None,
        locks: Callable[[str], list[Lock]] = lambda user: [],
        approvals: Callable[[str], list[Approval]] = lambda user: [],
        promotions: Callable[[str, int], list[ListedPromotion]] = lambda user, limit: [],
    ) -> None:
        self._recent = recent
        self._history = history
        self._apps = apps
        self._access = access
        self._publish = publish
        self._pool = pool
        # The full SHA of a commit in the app's repository within a deadline, or UserError
        # (no such commit) or SourceBusy (the deadline passed; the git child was killed).
        self._commit = commit
        self._locks = locks  # LockService.held: refuses those the LOCKS rule keeps out
        self._approvals = approvals  # open approval requests for this person
        self._promotions = promotions  # recent promotions this person may see

    def show(self, user: str) -> None:
        """Build and publish `user`'s Home tab in the background (never on the ack path)."""
        self._pool.submit(self._show, user)

    def _show(self, user: str) -> None:
        try:
            self._publish(self.view(user))
        except Exception:
            log.exception("publishing the App Home failed")

    def view(self, user: str) -> HomeView:
        jobs = self._recent(user, 100)
        apps = self._apps()
        try:
            history = self._history()
        except Exception:  # the report's history is a nicety here, never a reason to fail
            log.warning("reading the report history for App Home failed", exc_info=True)
            history = []
        waiting = tuple(self._approvals(user)[:MINE])
        return HomeView(
            user,
            tuple(job for job in jobs if job.requested_by == user)[:MINE],
            tuple(job for job in jobs if not job.state.finished)[:ACTIVE],
            history[-1] if history else None,  # oldest first
            tuple(app.name for app in apps if self._access.may_push(user, app)),
            tuple(app.name for app in apps if self._access.allows(user, Action.DIAGNOSE, app)),
            self._access.allows(user, Action.REPORT),
            tuple(self.promotable(user, apps)),
            tuple(self._readable_locks(user)),
            waiting,
            {approval.id: _approvers(approval, apps) for approval in waiting},
            tuple(self._recent_promotions(user)),
        )

    def promotable(self, user: str, apps: list[AppSpec] | None = None) -> list[tuple[str, str]]:
        """(app, environment) pairs this person may promote to, in the catalog's order."""
        return [
            (app.name, env.name)
            for app in (self._apps() if apps is None else apps)
            if self._access.allows(user, Action.PROMOTE, app)
            for env in app.environments
        ]

    def _recent_promotions(self, user: str) -> list[ListedPromotion]:
        try:
            return self._promotions(user, MINE)
        except Exception:  # like the report's history: a part of the tab, never all of it
            log.warning("reading the promotions for App Home failed", exc_info=True)
            return []

    def _readable_locks(self, user: str) -> list[Lock]:
        try:
            return self._locks(user)[:ACTIVE]
        except NotAuthorized:
            return []

    def pushable(self, user: str) -> list[str]:
        return [app.name for app in self._apps() if self._access.may_push(user, app)]

    def diagnosable(self, user: str) -> list[str]:
        return [app.name for app in self._apps() if self._access.allows(user, Action.DIAGNOSE, app)]

    def check_commit(
        self, app_name: str, sha: str, user: str, timeout_s: float = COMMIT_CHECK_S
    ) -> None:
        """Raise the source's UserError when `sha` is no commit of the app's repository.

        Only for someone who may push the app: a commit lookup tells whether a SHA exists and
        makes the bot fetch. Slack closes a modal's submission after 3 s, so the lookup gets a
        deadline: a fetch still running then is killed (not left holding the app's git lock),
        and the push checks the commit itself and says so in its thread."""
        app = next((a for a in self._apps() if a.name == app_name), None)
        if app is None or self._commit is None:
            return
        self._access.require(user, Action.PUSH, app)
        try:
            self._commit(app, sha, timeout_s)
        except SourceBusy as busy:
            log.info("checking %s@%s: %s; the push will check it", app_name, sha, busy)


def _approvers(approval: Approval, apps: list[AppSpec]) -> tuple[str, ...]:
    """The approvers the catalog names for the request's environment (none: it left it)."""
    app = next((a for a in apps if a.name == approval.app), None)
    environment = app.environment(approval.environment) if app is not None else None
    return environment.approvers if environment is not None else ()
