"""Mutation score of the domain (issue #17): mutmut mutates the code, the unit tests must fail.

mutmut 3 (configured in pyproject's `[tool.mutmut]`: the domain is mutated, `tests/unit` is
run) changes one thing at a time in `bot/domain/` (an operator, a constant, a condition...) and
runs the unit tests that cover the changed function; a mutant the tests still pass on
*survived*, which means no test pins that behaviour. The score of a module is the share of its
mutants killed (a timeout or a type-check catch counts as killed; `no tests` and `survived`
don't); the table's score is over the mutants checked. A mutant left unchecked (a run cut
short) fails the floor: a partial run proves nothing.
An equivalent mutant (one no behaviour can tell from the original) may be excluded with
`# pragma: no mutate` and a comment saying why.

Floors: 90 % for `bot/domain/iam/`, `bot/domain/access.py` and `bot/domain/matcher.py`.
Run: `python -m benchmarks.bench_mutation [PATH ...] [--max-children 2] [--results-only]`
(default paths: the three floors'). Needs no test service.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = 90.0
FLOORS = ("bot/domain/iam", "bot/domain/access.py", "bot/domain/matcher.py")
KILLED = frozenset({"killed", "timeout", "caught by type check", "segfault"})
EXCLUDED = frozenset({"skipped"})  # mutmut's own skips (e.g. a test run interrupted by the user)
# A mutant is named after its module and function: bot.domain.access.xǁRateLimiterǁtake__mutmut_3
_NAME = re.compile(r"^(?P<module>[\w.]+?)\.x[_ǁ]")
_RESULT = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+?)\s*$")


def mutant_glob(path: str) -> str:
    """The mutmut name pattern of a source path: bot/domain/iam/ -> bot.domain.iam.*"""
    dotted = path.strip("/").removesuffix(".py").replace("/", ".")
    return f"{dotted}.*"


def parse_results(lines: Iterable[str]) -> dict[str, Counter[str]]:
    """`mutmut results --all true` lines -> each module's source path and its status counts."""
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        found = _RESULT.match(line)
        name = _NAME.match(found["name"]) if found else None
        if found and name:
            path = name["module"].replace(".", "/") + ".py"
            by_module[path][found["status"]] += 1
    return dict(by_module)


def score(counts: Counter[str]) -> float:
    """Killed over the mutants checked (mutmut's skips left out), in %."""
    checked = sum(n for status, n in counts.items() if status not in EXCLUDED | {"not checked"})
    return 100.0 * sum(counts[status] for status in KILLED) / checked if checked else 0.0


def floor_figure(value: float, counts: Counter[str]) -> float:
    """What a floor is judged on: the score, or 0 while any mutant is unchecked."""
    return 0.0 if counts["not checked"] else value


def scores(by_module: Mapping[str, Counter[str]]) -> dict[str, tuple[float, Counter[str]]]:
    """The score of each module and of each package (every folder above a module)."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for path, counts in by_module.items():
        groups[path].update(counts)
        parts = path.split("/")[:-1]
        for depth in range(2, len(parts) + 1):
            groups["/".join(parts[:depth])].update(counts)
    return {key: (score(counts), counts) for key, counts in sorted(groups.items())}


def verdict(figures: Mapping[str, float]) -> int:
    """0 when every floor that was measured is at least 90 % (and one was), else 1."""
    measured = [figures[key] for key in FLOORS if key in figures]
    return 0 if measured and all(value >= FLOOR for value in measured) else 1


def table(results: Mapping[str, tuple[float, Counter[str]]]) -> str:
    rows = [
        f"| {'package or module':<40} | {'mutants':>7} | {'checked':>7} | {'killed':>6} | "
        f"{'survived':>8} | {'no tests':>8} | {'score':>6} |"
    ]
    rows.append("|" + "|".join("-" * width for width in (42, 9, 9, 8, 10, 10, 8)) + "|")
    for key, (value, counts) in results.items():
        total = sum(n for status, n in counts.items() if status not in EXCLUDED)
        checked = total - counts["not checked"]
        killed = sum(counts[status] for status in KILLED)
        floor = " (floor 90 %)" if key in FLOORS else ""
        rows.append(
            f"| {'`' + key + '`' + floor:<40} | {total:>7} | {checked:>7} | {killed:>6} | "
            f"{counts['survived']:>8} | {counts['no tests']:>8} | {value:>5.1f}% |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=list(FLOORS))
    parser.add_argument("--max-children", type=int, default=2, help="mutmut's parallel tests")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for mutmut run")
    parser.add_argument("--results-only", action="store_true", help="read the last run's results")
    args = parser.parse_args()
    mutmut = [sys.executable, "-m", "mutmut"]
    globs = [mutant_glob(path) for path in args.paths]
    if not args.results_only:
        # mutmut's exit status says nothing about survivors; the results below do.
        run = [*mutmut, "run", "--max-children", str(args.max_children), *globs]
        with subprocess.Popen(run, cwd=ROOT) as mutating:
            try:
                mutating.wait(args.timeout)
            except subprocess.TimeoutExpired:
                # Ctrl-C, as a person would: mutmut stops its workers and keeps what it checked.
                # What is left unchecked fails its floor below.
                mutating.send_signal(signal.SIGINT)
                mutating.wait(60)
                print(f"mutmut stopped after {args.timeout:.0f} s")
    listed = subprocess.run(
        [*mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    wanted = tuple(glob.removesuffix("*") for glob in globs)
    chosen = [line for line in listed if line.strip().startswith(wanted)]
    results = scores(parse_results(chosen))
    if not results:
        print("FAIL: mutmut reported no mutants for", ", ".join(args.paths))
        return 1
    print(table(results))
    judged = {key: result for key, result in results.items() if key in FLOORS}
    figures = {key: floor_figure(value, counts) for key, (value, counts) in judged.items()}
    for key, (_, counts) in results.items():
        if counts["not checked"]:
            print(f"{key}: {counts['not checked']} mutants not checked (the run was cut short)")
    failed = verdict(figures)
    shown = ", ".join(f"{key} {value:.1f} %" for key, value in figures.items())
    print(f"{'FAIL' if failed else 'PASS'}: {shown or 'no floor measured'} (floor: >= {FLOOR} %)")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
