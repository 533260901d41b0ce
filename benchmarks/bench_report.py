"""The health report over 300 repositories x 20 images against a local moto server.

Starts its own moto server (so other tests' repositories don't count), seeds 30, 100 and 300
repositories of 20 images each (real manifests, scans, lifecycle policies on half), and times
snapshot + report + chart + files. Floors (issue #4): under 30 s at 300 repositories, and AWS
calls growing linearly with repositories. Run: `python -m benchmarks.bench_report`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from moto.server import ThreadedMotoServer

from bot.adapters.aws import EcrRegistry
from bot.adapters.store import SqlJobStore
from bot.bootstrap import build_reports
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.runtime.executors import Concurrency, Executors
from tests.diagnose_seed import MotoSession
from tests.e2e.harness import ACCOUNT, REGION, free_port
from tests.report_seed import LIFECYCLE, put

IMAGES = 20


def seed(ecr: object, repositories: int) -> None:
    def one(n: int) -> None:
        name = f"bench-{n:04d}"
        ecr.create_repository(repositoryName=name)  # type: ignore[attr-defined]
        for i in range(IMAGES):
            put(ecr, name, f"{name}-{i}", f"1.0.{i}" if i % 4 else None)
        ecr.start_image_scan(repositoryName=name, imageId={"imageTag": f"1.0.{IMAGES - 1}"})  # type: ignore[attr-defined]
        if n % 2:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(LIFECYCLE))  # type: ignore[attr-defined]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(repositories)))


def verdict(figures: Mapping[str, float]) -> int:
    """0 when AWS calls per repository vary by under 0.5 across sizes (linear) and the largest
    size took under 30 s; else 1."""
    ok = figures["calls_per_repo_spread"] < 0.5 and figures["slowest_s"] < 30
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="30,100,300")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    results = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            requests.post(f"{url}/moto-api/reset", timeout=30)
            started = time.perf_counter()
            seed(MotoSession(url).client("ecr", REGION), size)
            seeded = time.perf_counter() - started
            with tempfile.TemporaryDirectory() as tmp:
                catalog = Catalog.model_validate(
                    {
                        "registry": {"account_id": ACCOUNT, "region": REGION},
                        "apps": {
                            f"bench-{n:04d}": {"source": "/x", "risk": "medium"}
                            for n in range(0, size, 2)
                        },
                    }
                )
                settings = Settings.model_validate(
                    {
                        "AWS_ENDPOINT_URL": url,
                        "ECRBOT_DATABASE_URL": f"sqlite:///{Path(tmp)}/b.db",
                    }
                )
                registry = EcrRegistry(catalog.registry_spec, endpoint_url=url)
                runner = build_reports(
                    settings,
                    catalog,
                    registry,
                    SqlJobStore(settings.database_url),
                    Executors(Concurrency()),
                )
                started = time.perf_counter()
                built = runner.service.build()
                seconds = time.perf_counter() - started
            calls = runner.service.last_calls
            results.append((size, calls, seconds))
            print(
                f"{size:4d} repositories x {IMAGES} images: {calls} AWS calls, "
                f"{seconds:.2f} s (seeding took {seeded:.0f} s); "
                f"{built.report.figures.images} images, {len(built.report.items)} items"
            )
    finally:
        server.stop()
    per_repo = [calls / size for size, calls, _ in results]
    linear = max(per_repo) - min(per_repo) < 0.5
    slowest = max(seconds for size, _, seconds in results if size == max(r[0] for r in results))
    print(
        f"calls per repository: {', '.join(f'{p:.2f}' for p in per_repo)} "
        f"({'linear' if linear else 'NOT linear'})"
    )
    failed = verdict({"calls_per_repo_spread": max(per_repo) - min(per_repo), "slowest_s": slowest})
    print(
        f"{'FAIL' if failed else 'PASS'}: {slowest:.2f} s at {results[-1][0]} repositories "
        "(floor: under 30 s; calls linear in repositories)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
