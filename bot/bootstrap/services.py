"""The bot's composition root: a process's services (bot replica or worker) from settings."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient

from bot.adapters.engine import DockerEngine
from bot.adapters.fleet import SqlFleet
from bot.adapters.outcome_journal import FileOutcomeJournal
from bot.adapters.report_store import SqlReportFires
from bot.adapters.request_marks import SqlRequestMarks
from bot.adapters.slack_diagnose import SlackDiagnosePoster
from bot.adapters.slack_directory import SlackDirectory, StaticDirectory
from bot.adapters.slack_home import SlackHome
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_progress import SlackReporter
from bot.adapters.source import GitSource
from bot.adapters.store import SqlJobStore
from bot.bootstrap import extras, stores
from bot.bootstrap.parts import build_diagnoser, build_reports, home_registry
from bot.bootstrap.promotions import build_promotion_requests, first_environment
from bot.bootstrap.slack import slack_client
from bot.bootstrap.triage import build_triage
from bot.config import Settings, load_catalog
from bot.config_catalog import Catalog
from bot.domain.access import Access, RateLimiter
from bot.domain.checks.model import Report
from bot.domain.home import HomeView
from bot.domain.locks import LockStore
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import (
    AuditLog,
    Destination,
    Directory,
    Engine,
    JobQueue,
    JobRunner,
    JobStore,
    Registry,
    Reporter,
    Source,
    WorkflowSource,
)
from bot.domain.promotion import ImageCopier
from bot.runtime.ack_first import AckFirst
from bot.runtime.audit_check import AuditCheck
from bot.runtime.executors import Concurrency, Executors
from bot.runtime.metrics import Metrics
from bot.runtime.scheduler import ReportScheduler, Sweep
from bot.runtime.warmup import WarmUp
from bot.runtime.worker import Worker
from bot.services.diagnose import Diagnoser, DiagnoseService, Post
from bot.services.home import HomeService
from bot.services.jobs import JobService, QueueLimits
from bot.services.locks import LockService
from bot.services.promotion_requests import PromotionRequests
from bot.services.reports import ReportRunner
from bot.services.triage import TriageService

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything listeners and commands use, built once per process."""

    settings: Settings
    catalog: Catalog
    store: JobStore
    access: Access
    jobs: JobService
    engine: Engine
    registry: Registry
    diagnoser: Diagnoser
    diagnose: DiagnoseService
    reports: ReportRunner
    scheduler: ReportScheduler
    metrics: Metrics
    slack: WebClient | None
    outbox: SlackOutbox | None
    ack_first: AckFirst
    triage: TriageService
    home: HomeService
    audit: AuditLog
    executors: Executors
    audit_check: AuditCheck
    locks: LockService
    promotions: PromotionRequests
    groups: SlackDirectory | None = None  # the user-group refresher, when Slack is the directory
    # Seen request signatures and rate windows every replica shares (PostgreSQL); None: memory.
    marks: SqlRequestMarks | None = None
    warmup: WarmUp = field(default_factory=WarmUp)  # start-up work /readyz waits for

    def readiness(self) -> dict[str, str]:
        """What /readyz reports: each dependency `ok`, or why not."""
        checks: dict[str, Callable[[], object]] = {
            "database": self.store.ping,
            "worker": lambda: None if self.jobs.worker.alive else _raise("worker not running"),
        }
        if self.jobs.worker.runs_here:  # else builds run on workers, each with its engine
            checks["docker"] = self.engine.ping
        if self.groups is not None:  # no traffic before the first requests' groups are known
            groups = self.groups
            checks["user_groups"] = lambda: None if groups.warmed else _raise("still reading")
        for name in self.warmup.pending():  # e.g. Bolt's auth.test, asked at start
            checks[name] = lambda: _raise("warming up")
        status = {}
        for name, check in checks.items():
            try:
                check()
                status[name] = "ok"
            except Exception as error:  # a probe reports, it never raises
                status[name] = f"{type(error).__name__}: {str(error)[:200]}"
        return status

    def start(self, *, schedule: bool = True) -> None:
        """Start the jobs' queue, the audit log's check and (but on `ecrbot worker`) the report
        schedule."""
        self.audit_check.start()
        self.jobs.start()
        if self.jobs.worker.runs_here:
            # Learnt before /readyz, not by the first job during the first burst of acks (#19).
            self.warmup.run("engine", self._warm_engine)
        self.warmup.run("locks", self.locks.warm)  # the snapshot every push ack reads
        # Promotions left mid-copy by the process before: all of them where this process runs
        # alone (as its jobs); scaled out, the sweep ends those stale on every replica.
        self.promotions.recover(everything=self.jobs.worker.runs_here)
        if self.groups is not None:
            self.groups.start()
        if schedule:
            self.scheduler.start()

    def _warm_engine(self) -> None:
        from bot.adapters.engine import DockerEngine

        if isinstance(self.engine, DockerEngine):
            self.engine.warm()

    def stop(self, grace_s: float | None = None) -> None:
        """Drain and stop: no new jobs, running ones get `grace_s` (ECRBOT_DRAIN_SECONDS) to
        finish and are then marked interrupted, and every queued Slack call is flushed."""
        self.scheduler.stop()
        if self.groups is not None:
            self.groups.stop()
        self.jobs.stop(self.settings.drain_s if grace_s is None else grace_s)
        if self.outbox is not None:
            self.outbox.stop()
        self.audit.flush(timeout=5.0)  # the last requests' entries, written behind their acks
        self.executors.shutdown()  # last: draining the jobs and the outbox may still use a pool

    def groups_changed(self, event: dict[str, object]) -> None:
        """A `subteam_*` event: the user-group cache takes it in."""
        if self.groups is not None:
            self.groups.apply_event(event)


def job_queue(
    settings: Settings,
    catalog: Catalog,
    store: JobStore,
    executors: Executors,
    worker_name: str | None = None,
) -> Callable[[JobRunner], JobQueue]:
    """The embedded pool (`local`), or Celery workers sharing the database (`celery`)."""
    if settings.worker_backend == "local":
        builds, notices = executors.policy.builds, executors.pool("notices")
        return lambda runner: Worker(runner.run, runner.tell_waiting, notices, builds)
    if not isinstance(store, SqlJobStore):
        raise ValueError("the celery backend needs the SQL job store")
    assert settings.broker_url is not None  # Settings refuses celery without one
    extras.require(extras.CELERY, "ECRBOT_WORKER_BACKEND=celery")
    from bot.runtime.celery_queue import CeleryQueue, celery_app  # the `celery` extra

    def queue_of(name: str) -> str | None:
        app = catalog.app(name)
        return app.queue if app is not None else None

    return lambda runner: CeleryQueue(
        runner,
        celery_app(settings.broker_url or ""),
        SqlFleet(store.engine),
        queue_of,
        settings.workers,
        worker_name,
    )


def build_services(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    source: Source | None = None,
    engine: Engine | None = None,
    registry: Registry | None = None,
    store: JobStore | None = None,
    directory: Directory | None = None,
    reporter: Reporter | None = None,
    workflows: WorkflowSource | None = None,
    worker_name: str | None = None,
    audit: AuditLog | None = None,
    lock_store: LockStore | None = None,
    copier: ImageCopier | None = None,
) -> Services:
    """Build the services; tests pass fakes for any port."""
    extras.require_for(settings)
    catalog = catalog or load_catalog(settings.config_path, settings.build_secrets_dir)
    metrics = Metrics()
    executors = Executors(Concurrency(builds=settings.workers))
    ack_first = AckFirst()
    store = store or SqlJobStore(settings.database_url, pause=ack_first.pause)
    audit = audit if audit is not None else stores.audit_log(store, ack_first.pause)
    engine = engine or DockerEngine(
        settings.docker_host,
        docker_cli=settings.docker_cli,
        secrets_dir=settings.build_secrets_dir,
    )
    registry = registry or home_registry(settings, catalog, metrics.aws_error)
    git = GitSource(Path(settings.work_dir) / "sources")
    source = source or git
    slack, outbox, groups = None, None, None
    if settings.slack_bot_token is not None:
        slack = slack_client(settings, retry_rate_limits=False)
        if directory is None:
            # Never a 429-sleeping client: a miss is asked inside an acknowledgement.
            groups = SlackDirectory(
                slack_client(settings, retry_rate_limits=False, timeout=2), catalog.user_groups
            )
            directory = groups
        if reporter is None:
            outbox = SlackOutbox(pause=ack_first.pause)
            reporter = SlackReporter(
                slack,
                outbox,
                store,
                catalog.slack.channel,
                settings.progress_interval_s,
                thread_wait_s=10.0 if worker_name else 0.0,  # a worker continues threads
                promote_to=first_environment(catalog),
            )
    if reporter is None:
        raise ValueError("no reporter: set SLACK_BOT_TOKEN or pass one")
    access = Access(catalog.slack.admins, directory or StaticDirectory(), catalog.slack.access)
    marks = (
        SqlRequestMarks(store.engine)
        if isinstance(store, SqlJobStore) and store.engine.dialect.name == "postgresql"
        else None
    )
    limiter = RateLimiter(catalog.slack.limits.rates(), windows=marks)
    # The store is the pipeline's provenance: only images ecrbot recorded are reused.
    pipeline = PushPipeline(
        source, engine, registry, clock=lambda: datetime.now(UTC), records=store
    )
    locks = LockService(
        catalog.app, catalog.all_apps, access, lock_store or stores.lock_store(store)
    )
    limits = catalog.slack.limits
    jobs = JobService(
        catalog.app,
        catalog.all_apps,
        access,
        store,
        pipeline,
        reporter,
        queue=job_queue(settings, catalog, store, executors, worker_name),
        on_steps=metrics.observe_steps,
        on_finished=metrics.push_finished,
        limits=QueueLimits(limits.queued, limits.queued_per_app),
        pause=ack_first.pause,
        # Outcomes the store refuses wait here, on this process's own disk, for the store.
        journal=FileOutcomeJournal(Path(settings.work_dir) / "outcomes.journal", store),
        locked=locks.check,
        admit_locked=locks.admits,
    )
    diagnoser = build_diagnoser(
        settings,
        catalog,
        lambda: engine,
        lambda: registry,
        workflows or git,
        executors,
        metrics.aws_error,
    )
    post: Post = (
        SlackDiagnosePoster(slack, outbox, catalog.slack.channel)
        if slack is not None and outbox is not None
        else _log_report
    )
    diagnose = DiagnoseService(
        diagnoser,
        catalog.app,
        catalog.all_apps,
        post,
        access,
        limiter,
        executors.pool("diagnoses"),
        catalog.slack.channel_rule,
    )
    reports = build_reports(
        settings,
        catalog,
        registry,
        store,
        executors,
        slack,
        outbox,
        metrics.aws_error,
        access,
        limiter,
        on_done=metrics.report_done,
    )
    fires = SqlReportFires(settings.database_url, f"{socket.gethostname()}:{os.getpid()}")
    home = SlackHome(slack, outbox) if slack and outbox else None
    promotions = build_promotion_requests(
        settings,
        catalog,
        access,
        locks.check,
        executors,
        audit,
        slack,
        outbox,
        copier,
        store,
        git,
        link=home.permalink if home is not None else lambda channel, thread_ts: None,
    )
    expiry = Sweep("approval-expiry", promotions.expire_due, settings.approval_sweep_s)
    scheduler = ReportScheduler(
        settings.database_url, catalog.report, reports.post_now, claim=fires.claim, sweeps=(expiry,)
    )
    reports.next_run_of(scheduler.next_run)
    metrics.watch(
        store.counts,
        lambda: jobs.worker.queue_depth,
        lambda: outbox.stats if outbox is not None else None,
        outbox_pending=lambda: outbox.pending if outbox is not None else None,
        heartbeat=lambda: jobs.worker.heartbeat_at,
        # Only where this process runs the schedule (not `ecrbot worker`, not before start).
        next_report=lambda: scheduler.next_run() if scheduler.running else None,
    )
    metrics.known_apps(app.name for app in catalog.all_apps())
    return Services(
        settings,
        catalog,
        store,
        access,
        jobs,
        engine,
        registry,
        diagnoser,
        diagnose,
        reports,
        scheduler,
        metrics,
        slack,
        outbox,
        ack_first,
        triage=build_triage(
            catalog, store, slack, outbox, executors, audit, access, metrics.triaged
        ),
        home=HomeService(
            jobs.recent,
            reports.service.history,
            catalog.all_apps,
            access,
            home.publish if home is not None else _log_home,
            executors.pool("home"),
            commit=git.resolve,
            locks=locks.held,
            approvals=promotions.waiting,
            promotions=promotions.recent,
        ),
        audit=audit,
        executors=executors,
        audit_check=AuditCheck(lambda: audit.integrity(pause=ack_first.pause)),
        groups=groups,
        marks=marks,
        locks=locks,
        promotions=promotions,
    )


def _raise(message: str) -> None:
    raise RuntimeError(message)


def _log_home(view: HomeView) -> None:
    log.info("App Home of %s: %d jobs", view.user, len(view.mine))


def _log_report(report: Report, user: str, where: Destination) -> None:
    log.info("diagnose %s for %s: %s", report.subject, user, report.verdict)
