"""Scheduled reports: APScheduler 3.x in the bot process, its jobs kept in the bot's database."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.config import ReportConfig

log = logging.getLogger(__name__)

REPORT_JOB_ID = "registry-health-report"
# A run missed while the bot was down still happens once when it is back, within this window.
MISFIRE_GRACE_S = 6 * 3600

# The persistent job store keeps a textual reference to the job function, so the function must be
# importable; it finds the process's report runner here, set by ReportScheduler.start().
_runner: Callable[[], None] | None = None


def run_scheduled_report() -> None:
    """The scheduled job: build and post the report with this process's services."""
    if _runner is None:
        log.warning("scheduled report fired before the scheduler was started; skipped")
        return
    _runner()


class ReportScheduler:
    """Owns the one BackgroundScheduler of the process; every schedule is declared in start()."""

    def __init__(
        self,
        database_url: str,
        config: ReportConfig,
        run: Callable[[], None],
        trigger: BaseTrigger | None = None,
    ) -> None:
        self._config = config
        self._run = run
        self._zone = ZoneInfo(config.timezone)
        # Tests pass a faster trigger; production always uses the catalog's cron.
        self._trigger = trigger or cron_trigger(config.schedule, self._zone)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=database_url)}, timezone=self._zone
        )

    def start(self) -> None:
        global _runner
        _runner = self._run
        self._scheduler.start()
        if not self._config.enabled:
            self._scheduler.remove_all_jobs()
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

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job(REPORT_JOB_ID)
        return job.next_run_time if job is not None else None

    def stop(self) -> None:
        if self._scheduler.running:
            # Detach the store first: on shutdown APScheduler's thread still processes due jobs,
            # fails to submit them to the stopped executor and would move them past this run.
            self._scheduler.remove_jobstore("default", shutdown=True)
            self._scheduler.shutdown(wait=False)


DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A crontab line as cron means it: APScheduler's own from_crontab counts weekdays from
    Monday = 0, so `0 9 * * 1` would run on Tuesdays; weekday numbers become names first."""
    minute, hour, day, month, weekday = expression.split()
    weekday = re.sub(r"\d+", lambda m: DAY_NAMES[int(m.group()) % 8], weekday)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=zone
    )
