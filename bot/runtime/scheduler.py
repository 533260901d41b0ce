"""Scheduled reports: APScheduler 3.x in the bot process, its jobs kept in the bot's database."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config_catalog import ReportConfig

log = logging.getLogger(__name__)

REPORT_JOB_ID = "registry-health-report"
# A run missed while the bot was down still happens once when it is back, within this window.
MISFIRE_GRACE_S = 6 * 3600

# The persistent job store keeps a textual reference to the job function, so the function must be
# importable; it finds the process's scheduler here, set by ReportScheduler.start().
_scheduler: ReportScheduler | None = None

# (schedule id, fire time) -> True for the one process that may post that run.
Claim = Callable[[str, datetime], bool]
# Told of each run once it has ended (ran, raised or was missed): what a test waits for to
# show that nothing more ran, instead of sleeping.
OnRunEnded = Callable[[JobExecutionEvent], None]


def run_scheduled_report() -> None:
    """The scheduled job: build and post the report with this process's services."""
    if _scheduler is None:
        log.warning("scheduled report fired before the scheduler was started; skipped")
        return
    _scheduler.fire()


def create_job_table(engine: Any) -> None:
    """APScheduler's job table, as its job store would create it at start: `ecrbot db upgrade`
    makes it, so a bot whose database role may not create tables still starts."""
    SQLAlchemyJobStore(engine=engine).jobs_t.create(engine, checkfirst=True)


class ReportScheduler:
    """Owns the one BackgroundScheduler of the process; every schedule is declared in start()."""

    def __init__(
        self,
        database_url: str,
        config: ReportConfig,
        run: Callable[[], None],
        trigger: BaseTrigger | None = None,
        claim: Claim = lambda _id, _time: True,
        on_run_ended: OnRunEnded | None = None,
        sweeps: tuple[Sweep, ...] = (),
    ) -> None:
        # Housekeeping every few seconds (an approval's expiry): in memory, not the database's
        # job store, which keeps only what must survive a restart; each sweep is idempotent.
        self._sweeps = sweeps
        self._config = config
        self._run = run
        self._claim = claim
        self._zone = ZoneInfo(config.timezone)
        # Tests pass a faster trigger; production always uses the catalog's cron.
        self._trigger = trigger or cron_trigger(config.schedule, self._zone)
        self._scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(url=database_url),
                "memory": MemoryJobStore(),
            },
            timezone=self._zone,
        )
        if on_run_ended is not None:
            ended = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
            self._scheduler.add_listener(on_run_ended, ended)

    def fire(self) -> None:
        """Post this run's report, unless another replica's scheduler claimed it first.

        Every replica's scheduler fires (they share the schedule); the run they are all firing
        for is the trigger's latest fire time, the same in each, and the database lets one
        claim it (`report_fires`).
        """
        fire_time = latest_fire_time(self._trigger, datetime.now(self._zone))
        if fire_time is not None and not self._claim(REPORT_JOB_ID, fire_time):
            log.info("the report due at %s was posted by another replica", fire_time)
            return
        self._run()

    def start(self) -> None:
        global _scheduler
        _scheduler = self
        self._scheduler.start()
        for sweep in self._sweeps:
            self._scheduler.add_job(
                _swept(sweep),
                trigger=IntervalTrigger(seconds=sweep.every_s),
                id=sweep.id,
                jobstore="memory",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        if not self._config.enabled:
            self._scheduler.remove_all_jobs(jobstore="default")
            return
        stored = self._scheduler.get_job(REPORT_JOB_ID)
        if stored is not None and str(stored.trigger) == str(self._trigger):
            # Keep the stored job as it is: re-adding it would recompute its next run from now
            # and drop a run missed while the bot was down (which start() has just run once).
            log.info("next registry report: %s", self.next_run())
            return
        self._scheduler.add_job(
            run_scheduled_report,
            trigger=self._trigger,
            id=REPORT_JOB_ID,
            name="Registry health report",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )
        log.info("next registry report: %s", self.next_run())

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job(REPORT_JOB_ID)
        return job.next_run_time if job is not None else None

    def stop(self) -> None:
        if self._scheduler.running:
            # Detach the store first: on shutdown APScheduler's thread still processes due jobs,
            # fails to submit them to the stopped executor and would move them past this run.
            self._scheduler.remove_jobstore("default", shutdown=True)
            self._scheduler.shutdown(wait=False)


@dataclass(frozen=True)
class Sweep:
    """A small idempotent job run every few seconds in each process (every replica sweeps)."""

    id: str
    run: Callable[[], None]
    every_s: float


def _swept(sweep: Sweep) -> Callable[[], None]:
    def run() -> None:
        try:
            sweep.run()
        except Exception:  # a sweep that fails is tried again at the next interval
            log.exception("sweep %s failed", sweep.id)

    return run


def latest_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The trigger's last fire time at or before `now`, within the misfire window."""
    for lookback in (600.0, 6 * 3600.0, float(MISFIRE_GRACE_S)):
        latest: datetime | None = None
        at = trigger.get_next_fire_time(None, now - timedelta(seconds=lookback))
        while at is not None and at <= now:
            latest = at
            at = trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
        if latest is not None:
            return latest
    return None


DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A crontab line as cron means it: APScheduler's own from_crontab counts weekdays from
    Monday = 0, so `0 9 * * 1` would run on Tuesdays; weekday numbers become names first."""
    minute, hour, day, month, weekday = expression.split()
    weekday = re.sub(r"\d+", lambda m: DAY_NAMES[int(m.group()) % 8], weekday)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=zone
    )
