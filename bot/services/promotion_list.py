"""Recent promotions for `/ecr jobs` and App Home: those a person may see (the rule of jobs),
each with where its image comes from, and its approval (who may approve, who decided)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bot.domain.access import Access
from bot.domain.approvals import Approval, ApprovalState
from bot.domain.environments import HOME
from bot.domain.models import AppSpec
from bot.domain.promotion_runs import ListedPromotion, PromotionRun, PromotionRunStore

log = logging.getLogger(__name__)

SHOWN = 25  # the most a listing shows, whatever is asked
LINKS_WITHIN_S = 0.5  # of the listing's time, spent asking Slack for threads' links
READ = 200  # records read to find them (others' promotions the person may not see are skipped)


class PromotionListing:
    """Reads the promotions' records; never writes, never asks AWS or Slack."""

    def __init__(
        self,
        store: PromotionRunStore,
        access: Access,
        apps: Callable[[str], AppSpec | None],
        approval: Callable[[str], Approval | None] = lambda run_id: None,
        link: Callable[[str, str], str | None] = lambda channel, thread_ts: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link  # a thread's permalink (channel, thread_ts), remembered by Slack's side
        self._clock = clock
        self._store = store
        self._access = access
        self._apps = apps
        # A promotion's approval request has the promotion's id (ApprovalService.request).
        self._approval = approval

    def recent(self, user: str, limit: int = 10) -> list[ListedPromotion]:
        """The newest promotions `user` may see: their own, and those of apps the JOBS rule
        lets them see (an app that left the catalog: the admins only), newest first."""
        wanted = max(0, min(limit, SHOWN))
        if wanted == 0:
            return []
        visible = [
            run
            for run in self._store.recent(max(wanted * 20, READ))
            if self._access.may_see_work(user, run.requested_by, self._apps(run.app))
        ]
        # `/ecr jobs` answers in Slack's 3 s: links not found by then are left out, not waited
        # for (they are remembered, so the next listing has them at once).
        deadline = self._clock() + LINKS_WITHIN_S
        return [self._listed(run, deadline) for run in visible[:wanted]]

    def _listed(self, run: PromotionRun, deadline: float) -> ListedPromotion:
        listed = ListedPromotion(run, link=self._thread(run, deadline))
        app = self._apps(run.app)
        names = [env.name for env in app.environments] if app is not None else []
        if app is not None and run.environment in names:
            index = names.index(run.environment)
            before = app.environments[index - 1] if index > 0 else None
            listed = replace(
                listed,
                source=before.name if before is not None else HOME,
                source_registry=before.registry.name if before is not None else HOME,
                target_registry=app.environments[index].registry.name,
                approvers=app.environments[index].approvers,
            )
        # One read by primary key per listed run (at most SHOWN): gated environments without
        # approvers ask an admin's approval too, so every run may have one.
        try:
            approval = self._approval(run.id)
        except Exception:  # a listing is a view: a failed read shows the run without it
            log.warning("reading the approval of promotion %s failed", run.id[:64])
            approval = None
        waiting = approval is not None and approval.state is ApprovalState.PENDING
        return replace(
            listed,
            approval=approval.state if approval is not None else None,
            decided_by=approval.decided_by if approval is not None else None,
            expires_at=approval.expires_at if approval is not None and waiting else None,
            # Who may approve matters only while a request waits for them.
            approvers=listed.approvers if waiting else (),
            admins_only=waiting and approval is not None and approval.gate is not None,
        )

    def _thread(self, run: PromotionRun, deadline: float) -> str | None:
        if not run.channel or not run.thread_ts or self._clock() > deadline:
            return None
        try:
            return self._link(run.channel, run.thread_ts)
        except Exception:  # a link is a nicety: the line is shown without it
            log.warning("the link of promotion %s failed", run.id[:64], exc_info=True)
            return None
