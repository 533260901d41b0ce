"""One bot replica's report scheduler, alone in its process (for bench_fleet's report dedupe).

`python -m benchmarks.fleet_scheduler DATABASE_URL OUT_FILE SECONDS NAME`: fires every second on
the shared database for SECONDS and appends one line per report it would post to OUT_FILE.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC

from apscheduler.triggers.cron import CronTrigger

from bot.adapters.report_store import SqlReportFires
from bot.config_catalog import ReportConfig
from bot.runtime.scheduler import ReportScheduler


def main() -> int:
    url, out, seconds, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

    def post() -> None:
        with open(out, "a") as posted:  # O_APPEND: whole lines from every process
            posted.write(f"{name} {time.time():.3f}\n")

    scheduler = ReportScheduler(
        url,
        ReportConfig(),
        post,
        trigger=CronTrigger(second="*", timezone=UTC),
        claim=SqlReportFires(url, f"{name}:{os.getpid()}").claim,
    )
    scheduler.start()
    time.sleep(seconds)
    scheduler.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
