"""The report schedule on a real APScheduler with its SQL job store: fires, persists, coalesces."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.events import JobExecutionEvent
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.adapters.report_store import SqlReportFires
from bot.config_catalog import ReportConfig
from bot.runtime.scheduler import ReportScheduler, Sweep, cron_trigger, latest_fire_time

pytestmark = pytest.mark.integration


class Runs:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()
        self.ended: list[JobExecutionEvent] = []  # what APScheduler says it ran

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    def run_ended(self, event: JobExecutionEvent) -> None:
        self.ended.append(event)


def wait_for(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_job_fires_once(tmp_path: Path) -> None:
    runs = Runs()
    when = datetime.now(UTC) + timedelta(seconds=0.5)
    scheduler = ReportScheduler(
        f"sqlite:///{tmp_path}/s.db",
        ReportConfig(),
        runs,
        trigger=DateTrigger(run_date=when),
        on_run_ended=runs.run_ended,
    )
    scheduler.start()
    wait_for(lambda: runs.ended)
    # The job left the store after its run: nothing is left that could fire it again.
    wait_for(lambda: scheduler.next_run() is None)
    scheduler.stop()
    assert runs.count == 1 and len(runs.ended) == 1


def test_the_schedule_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    first = ReportScheduler(
        url, ReportConfig(schedule="0 9 * * 1", timezone="Europe/London"), Runs()
    )
    first.start()
    planned = first.next_run()
    first.stop()
    again = ReportScheduler(
        url, ReportConfig(schedule="0 9 * * 1", timezone="Europe/London"), Runs()
    )
    again.start()
    assert planned is not None and again.next_run() == planned
    assert planned.weekday() == 0 and planned.hour == 9
    again.stop()


def test_runs_missed_while_down_are_coalesced_into_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    every = IntervalTrigger(seconds=60, start_date=datetime.now(UTC) - timedelta(minutes=10))
    down = ReportScheduler(url, ReportConfig(), Runs(), trigger=every)
    down._scheduler.start(paused=True)  # persist the job, then "crash" before it ever runs
    down._scheduler.add_job(
        "bot.runtime.scheduler:run_scheduled_report",
        trigger=every,
        id="registry-health-report",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
        next_run_time=datetime.now(UTC) - timedelta(minutes=5),
    )
    down.stop()

    runs = Runs()
    back = ReportScheduler(url, ReportConfig(), runs, trigger=every, on_run_ended=runs.run_ended)
    back.start()
    wait_for(lambda: runs.ended)
    # The stored job's next run is past now: every missed run has been dealt with.
    wait_for(lambda: (next_run := back.next_run()) is not None and next_run > datetime.now(UTC))
    back.stop()
    assert runs.count == 1 and len(runs.ended) == 1  # five missed runs, one report


def test_cron_weekdays_count_from_sunday_like_cron() -> None:
    from zoneinfo import ZoneInfo

    from bot.runtime.scheduler import cron_trigger

    zone = ZoneInfo("UTC")
    start = datetime(2026, 11, 27, 12, 0, tzinfo=zone)  # a Friday
    monday = cron_trigger("0 9 * * 1", zone).get_next_fire_time(None, start)
    weekdays = cron_trigger("30 8 * * 1-5", zone).get_next_fire_time(None, start)
    sunday = cron_trigger("0 0 * * 7", zone).get_next_fire_time(None, start)
    assert monday is not None and (monday.weekday(), monday.hour) == (0, 9)
    assert weekdays is not None and weekdays.weekday() == 0  # Friday 08:30 has passed
    assert sunday is not None and sunday.weekday() == 6


def test_three_schedulers_sharing_a_database_post_each_fire_time_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    every_second = CronTrigger(second="*", timezone=UTC)
    runs = Runs()
    replicas = [
        ReportScheduler(
            url,
            ReportConfig(),
            runs,
            trigger=every_second,
            claim=SqlReportFires(url, f"replica-{n}").claim,
        )
        for n in range(3)
    ]
    for replica in replicas:
        replica.start()
    time.sleep(3.2)
    for replica in replicas:
        replica.stop()
    with sa.create_engine(url).connect() as conn:
        fired = conn.execute(sa.text("SELECT count(*) FROM report_fires")).scalar_one()
    assert fired >= 2
    assert runs.count == fired  # one post per fire time, whichever replica claimed it


def test_the_latest_fire_time_is_the_same_whichever_replica_asks() -> None:
    weekly = cron_trigger("0 9 * * 1", ZoneInfo("Europe/London"))
    monday = datetime(2026, 11, 30, 9, 0, 0, 300_000, tzinfo=ZoneInfo("Europe/London"))
    assert latest_fire_time(weekly, monday) == monday.replace(microsecond=0)
    assert latest_fire_time(weekly, monday + timedelta(hours=5)) == monday.replace(microsecond=0)
    assert latest_fire_time(weekly, monday + timedelta(days=1)) is None  # past the grace


def test_sweeps_run_in_memory_every_interval_even_with_reports_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    swept, failing = Runs(), Runs()

    def boom() -> None:
        failing()
        raise RuntimeError("a sweep that fails is tried again")

    scheduler = ReportScheduler(
        url,
        ReportConfig(enabled=False),
        Runs(),
        sweeps=(Sweep("tick", swept, 0.05), Sweep("boom", boom, 0.05)),
    )
    scheduler.start()
    try:
        wait_for(lambda: swept.count >= 3 and failing.count >= 3)
    finally:
        scheduler.stop()
    # Never in the database's job store: a restart declares them again.
    with sa.create_engine(url).connect() as conn:
        stored = conn.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert "tick" not in stored and "boom" not in stored
