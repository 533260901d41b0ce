"""The health report over 3 registries x 300 repositories (issue #16) against its own moto server.

Seeds three moto accounts with `bench_report`'s registry (300 repositories of 20 images each:
real manifests, scans, lifecycle policies on half), then times the whole report (snapshot of
every registry, sections, chart, files) for a catalog whose home registry is the first account
and whose `registries:` are the other two, each reached by assuming its role (moto acts in the
account a role belongs to). Each of 150 apps is promoted home -> staging -> prod, so the
Environments section reads its repository in both. For scale, the same report of the home
registry alone is timed too. Floor: under 30 s, every registry read, every repository counted.
Run: `python -m benchmarks.bench_report_registries [--repositories 300] [--runs 2]`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from benchmarks.bench_report import IMAGES, seed
from bot.adapters.aws import EcrRegistry
from bot.adapters.store import SqlJobStore
from bot.bootstrap import build_reports
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.ports import Published
from bot.runtime.executors import Concurrency, Executors
from tests.e2e.harness import ACCOUNT, REGION, account_session, free_port

ACCOUNTS = {"home": ACCOUNT, "staging": "210987654321", "prod": "333322221111"}
FLOOR_S = 30.0


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the report over every registry took under 30 s, no registry was left unread and
    every repository seeded was counted; else 1."""
    ok = (
        figures["slowest_s"] < FLOOR_S
        and figures["unread_registries"] == 0
        and figures["repositories_missing"] == 0
    )
    return 0 if ok else 1


def catalog(repositories: int, others: bool, work: Path) -> Catalog:
    role = "arn:aws:iam::{}:role/ecrbot-report"
    path = [{"name": "staging", "registry": "staging"}, {"name": "prod", "registry": "prod"}]
    return Catalog.model_validate(
        {
            "registry": {"account_id": ACCOUNTS["home"], "region": REGION},
            "registries": {
                name: {"account_id": account, "region": REGION, "role": role.format(account)}
                for name, account in ACCOUNTS.items()
                if name != "home"
            }
            if others
            else {},
            "apps": {
                f"bench-{n:04d}": {
                    "source": str(work),
                    "risk": "medium",
                    **({"environments": path} if others else {}),
                }
                for n in range(0, repositories, 2)
            },
        }
    )


def one_report(url: str, catalog: Catalog, work: Path) -> tuple[float, Published]:
    settings = Settings.model_validate(
        {"AWS_ENDPOINT_URL": url, "ECRBOT_DATABASE_URL": f"sqlite:///{work}/b.db"}
    )
    executors = Executors(Concurrency())
    try:
        runner = build_reports(
            settings,
            catalog,
            EcrRegistry(catalog.registry_spec, endpoint_url=url),
            SqlJobStore(settings.database_url),
            executors,
        )
        started = time.perf_counter()
        built = runner.service.build()
        return time.perf_counter() - started, built
    finally:
        executors.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repositories", type=int, default=300)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {
        "slowest_s": math.nan,
        "unread_registries": math.nan,
        "repositories_missing": math.nan,
    }
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    try:
        started = time.perf_counter()
        for account in ACCOUNTS.values():
            seed(account_session(account).client("ecr", endpoint_url=url), args.repositories)
        print(
            f"seeded {len(ACCOUNTS)} accounts x {args.repositories} repositories x {IMAGES} "
            f"images in {time.perf_counter() - started:.0f} s"
        )
        alone: list[float] = []
        every: list[float] = []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                home_s, _ = one_report(url, catalog(args.repositories, False, work), work)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                seconds, built = one_report(url, catalog(args.repositories, True, work), work)
            alone.append(home_s)
            every.append(seconds)
            report = built.report
            unread = [g.name for g in report.registries if g.error is not None]
            print(
                f"run {run + 1}: home alone {home_s:.2f} s; home + "
                f"{len(report.registries)} registries {seconds:.2f} s: "
                f"{report.figures.repositories} repositories, {report.figures.images} images, "
                f"{len(report.items)} items, {len(report.gaps)} gaps"
                + (f", unread: {', '.join(unread)}" if unread else "")
                + f" (load average {os.getloadavg()[0]:.1f})"
            )
            figures = {
                "slowest_s": max(every),
                "unread_registries": len(unread),
                "repositories_missing": len(ACCOUNTS) * args.repositories
                - report.figures.repositories,
            }
    finally:
        server.stop()
    failed = verdict(figures)
    print(
        f"{'FAIL' if failed else 'PASS'}: {len(ACCOUNTS)} registries x {args.repositories} "
        f"repositories: slowest {figures['slowest_s']:.2f} s, median "
        f"{statistics.median(every) if every else math.nan:.2f} s (home alone: median "
        f"{statistics.median(alone) if alone else math.nan:.2f} s); floor: under {FLOOR_S:.0f} s"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
