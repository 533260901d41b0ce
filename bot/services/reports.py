"""The registry health report: one snapshot, the pure report, stored figures, then publishing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta

from bot.domain.access import Access, Action, RateLimiter
from bot.domain.errors import new_error_id
from bot.domain.iam.trust import PUSH_ACTIONS, evaluate_permissions
from bot.domain.models import RegistrySpec
from bot.domain.on_behalf import OnBehalf, acting_for
from bot.domain.ports import AccountFacts, JobStore, Publish, Published, RegistryScan, ReportHistory
from bot.domain.report import (
    AccessFinding,
    CatalogEntry,
    EnvironmentImages,
    HealthReport,
    JobStat,
    RegistryRead,
    RegistrySnapshot,
    ReportFigures,
    RepositoryInfo,
    build_report,
)

log = logging.getLogger(__name__)

# A report with what goes to Slack (chart, detail files), from the report and the stored
# history. The render layer's (`bootstrap/parts.py` passes it in): a service knows no Block Kit,
# Markdown or matplotlib.
Package = Callable[[HealthReport, list[ReportFigures]], Published]
# The catalog's other registries: calling it starts their reads, calling what it returns waits
# for them (the home registry is read in between).
RegistryReads = Callable[[], Callable[[], tuple[RegistryRead, ...]]]
# Each app's environments, given the gaps to add to and the registries already read (whose
# repositories need no second read).
Environments = Callable[[list[str], tuple[RegistryRead, ...]], tuple[EnvironmentImages, ...]]


class ReportService:
    """Builds reports (for the schedule, `/ecr report` and `ecrbot report`) and keeps history."""

    def __init__(
        self,
        registry: RegistrySpec,
        catalog: tuple[CatalogEntry, ...],
        reader: Callable[[], RegistryScan],
        facts: Callable[[], AccountFacts],
        jobs: JobStore,
        history: ReportHistory,
        package: Package,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        environments: Environments = lambda gaps, known: (),
        registries: RegistryReads = lambda: lambda: (),
    ) -> None:
        self._registry = registry
        self._registries = registries  # the catalog's other registries, each through its role
        self._environments = environments  # each app's environments, read in their registries
        self._catalog = catalog
        self._package = package
        self._reader = reader
        self._facts = facts
        self._jobs = jobs
        self._history = history
        self._clock = clock
        self.last_calls = 0

    def build(self) -> Published:
        """A report from a fresh snapshot, with changes against the last stored figures."""
        snapshot = self.snapshot()
        history = self._history.history()
        report = build_report(snapshot, history[-1] if history else None, self._clock())
        return self._package(report, history)

    def publish(
        self,
        post: Publish,
        channel: str | None = None,
        *,
        scheduled: bool = True,
        reply_url: str | None = None,
    ) -> HealthReport:
        """Build and post. Only a scheduled report stores its figures: "since last time" means
        since the last scheduled one, however many were asked for in between."""
        built = self.build()
        post(built, channel, reply_url)
        if scheduled:
            self._history.save(built.report.figures)
        return built.report

    def history(self) -> list[ReportFigures]:
        return self._history.history()

    def snapshot(self) -> RegistrySnapshot:
        gaps: list[str] = []
        others = self._registries()  # read while home is
        reader = self._reader()
        repositories, scanning = reader.repositories(gaps)
        access = reader.access(gaps) + self._key_users(repositories, gaps)
        self.last_calls = reader.calls
        registries = others()
        environments = self._environments(gaps, registries)
        now = self._clock()
        return RegistrySnapshot(
            taken_at=now,
            account_id=self._registry.account_id,
            region=self._registry.region,
            repositories=repositories,
            registry_scanning=scanning,
            catalog=self._catalog,
            access=access,
            jobs=self._job_stats(now),
            gaps=tuple(gaps),
            environments=environments,
            registries=registries,
        )

    def _job_stats(self, now: datetime) -> tuple[JobStat, ...]:
        jobs = self._jobs.since(now - timedelta(days=7))
        return tuple(
            JobStat(
                job.app,
                job.state.value,
                job.duration_s,
                job.finished_at,
                max(job.step_durations, key=job.step_durations.__getitem__)
                if job.step_durations
                else None,
            )
            for job in jobs
        )

    def _key_users(
        self, repositories: tuple[RepositoryInfo, ...], gaps: list[str]
    ) -> tuple[AccessFinding, ...]:
        fact = self._facts().key_users().result()
        if not fact.ok:
            gaps.append(f"iam users: {fact.error}")
            return ()
        findings = []
        for user in fact.value or ():
            can_push = [
                repo.name
                for repo in repositories
                if any(
                    d.allowed
                    for d in evaluate_permissions(
                        user.policies, PUSH_ACTIONS[1:], repo.arn
                    ).values()
                )
            ]
            if can_push:
                shown = ", ".join(can_push[:5]) + (" …" if len(can_push) > 5 else "")
                findings.append(
                    AccessFinding(
                        f"user/{user.name}",
                        "fail",
                        f"has active access keys ({', '.join(user.active_keys)}) and can push to "
                        f"{len(can_push)} repositories ({shown}); the runbook says OIDC, never "
                        "long-lived keys",
                    )
                )
        return tuple(findings)


class ReportRunner:
    """Reports off Bolt's listener threads, one at a time: posted, previewed, or scheduled."""

    def __init__(
        self,
        service: ReportService,
        publish: Publish,
        access: Access | None = None,
        limiter: RateLimiter | None = None,
        *,
        pool: Executor,
        on_done: Callable[[bool, bool], None] | None = None,
    ) -> None:
        self.service = service
        self._on_done = on_done or (lambda _scheduled, _posted: None)  # (scheduled, posted)
        self._service = service
        self._publish = publish
        self._access = access
        self._limiter = limiter
        self._next_run: Callable[[], datetime | None] = lambda: None
        self._pool = pool  # report builds: as many at once as the concurrency policy says

    def authorize(self, user: str) -> None:
        """Only the REPORT rule's audience, and not more often than their limit."""
        if self._access is not None:
            self._access.require(user, Action.REPORT)
        if self._limiter is not None:
            self._limiter.take(user, Action.REPORT)

    def post(
        self, channel: str | None = None, user: str | None = None, reply_url: str | None = None
    ) -> None:
        """An ad-hoc report: authorized, then built and posted in the background."""
        if user is not None:
            self.authorize(user)
        # Read for the person who asked (SourceIdentity, tags); the schedule reads as ecrbot.
        who = OnBehalf(user, "all", "report") if user else None
        self._pool.submit(acting_for, who, self._post, channel, False, reply_url)

    def post_now(self, channel: str | None = None) -> None:
        """The scheduled report, built and posted here; failures are logged with an id."""
        self._post(channel, True, None)

    def _post(self, channel: str | None, scheduled: bool, reply_url: str | None) -> None:
        try:
            self._service.publish(self._publish, channel, scheduled=scheduled, reply_url=reply_url)
        except Exception:
            log.exception("the registry report failed (error id %s)", new_error_id())
            self._on_done(scheduled, False)
            return
        self._on_done(scheduled, True)

    def preview(self, reply: Callable[[Published | None], None], user: str | None = None) -> None:
        """Build without posting or storing; `reply` gets it (or None when it failed)."""
        if user is not None:
            self.authorize(user)

        def run() -> None:
            try:
                built = self._service.build()
            except Exception:
                log.exception("the report preview failed")
                built = None
            reply(built)

        self._pool.submit(acting_for, OnBehalf(user, "all", "report") if user else None, run)

    def next_run_of(self, next_run: Callable[[], datetime | None]) -> None:
        """Where the next scheduled run comes from (the scheduler, created after this)."""
        self._next_run = next_run

    def next_run(self) -> datetime | None:
        return self._next_run()
