"""One app's full diagnose checklist against the local moto server, and its AWS call count.

The app is seeded healthy (every check runs to the end). Floor (issue #3): under 1.5 s.
Run: `python -m benchmarks.bench_diagnose [--runs 10]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bot.services.diagnose import DiagnoseRequest
from tests.diagnose_seed import MotoSession, Platform, diagnoser_for
from tests.e2e.harness import service_env


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the slowest diagnose (the first included) took under 1.5 s, else 1."""
    return 0 if figures["slowest_s"] < 1.5 else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    services = service_env()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(MotoSession(services["AWS_ENDPOINT_URL"]), Path(tmp) / "apps")
        app = platform.app("bench-diagnose")
        diagnoser = diagnoser_for(services, Path(tmp), app)
        timings, calls = [], []
        for _ in range(args.runs + 1):  # the first run also clones the app's git mirror
            started = time.perf_counter()
            report = diagnoser.run(DiagnoseRequest(app.name))
            timings.append(time.perf_counter() - started)
            calls.append(diagnoser.last_call_count)
    first, warm = timings[0], timings[1:]
    print(f"checks: {len(report.results)}; verdict: {report.verdict}")
    print(f"first run (clones the git mirror): {first:.3f} s")
    print(
        f"runs: median {statistics.median(warm):.3f} s, max {max(warm):.3f} s, "
        f"AWS calls per diagnose: {calls[-1]}"
    )
    failed = verdict({"slowest_s": max(timings)})
    print(f"{'FAIL' if failed else 'PASS'}: slowest {max(timings):.3f} s (floor: under 1.5 s)")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
