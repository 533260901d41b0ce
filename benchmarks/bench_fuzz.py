"""A long fuzz run over the parsers that read outside input: the `/ecr` command parser, the
catalog (files and objects), the workflow analyser and the IAM policy evaluator.

Each target first tries a small corpus of known hostile inputs (this change's regressions and
the crashes reported in bot/config.py), then inputs from hypothesis's generation (the strategies
of `tests/hostile.py`, which `tests/unit/test_hostile_input.py` runs briefly), seeded, without
shrinking or example database, so every input counts. Per target it counts the inputs tried,
crashes (an exception of a type the target's contract does not allow), property violations (an
answer that breaks the contract, e.g. a Push whose sha is not hex) and slow inputs (over 2 s,
and again when tried once more: a hang in waiting).

Needs no test services. Run: `python -m benchmarks.bench_fuzz [--per-target 20000] [--seed 0]
[--targets commands,workflows]`. PASS: no crash, violation or slow input in any target.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bot.domain.bounded_yaml import LIMITS, Limits
from bot.domain.iam.trust import OidcRequest
from tests import hostile

SLOW_S = 2.0


@dataclass
class Tally:
    tried: int = 0
    crashes: int = 0
    violations: int = 0
    slow: int = 0
    slowest_s: float = 0.0
    seconds: float = 0.0
    # Each kind of failure -> (how many, its first message, the first input that caused it).
    kinds: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    def note(self, kind: str, value: Any, key: str = "") -> None:
        count, shown, example = self.kinds.get(key or kind, (0, kind, _show(value)))
        self.kinds[key or kind] = (count + 1, shown, example)


def _show(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fuzz(
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], None],
    n: int,
    at: int,
    corpus: tuple[Any, ...] = (),
) -> Tally:
    """`corpus` (known hostile inputs) first, then `n` generated inputs."""
    tally = Tally()

    def attempt(value: Any) -> None:
        tally.tried += 1
        started = time.perf_counter()
        try:
            check(value)
        except AssertionError as error:
            tally.violations += 1
            first = re.sub(r"\d+", "N", (str(error).splitlines() or [""])[0])
            tally.note(f"violation: {first[:100]}", value)
        except Exception as error:  # every other type is a crash: count it, show one input
            tally.crashes += 1
            # One kind per exception type and the function that raised it, whatever the value.
            where = traceback.extract_tb(error.__traceback__)[-1]
            kind = f"{type(error).__name__} in {Path(where.filename).name}:{where.name}"
            tally.note(f"crash: {kind}: {str(error)[:60]}", value, key=f"crash: {kind}")
        took = time.perf_counter() - started
        if took > SLOW_S:  # a pause of the collector (hypothesis's heap is big) is not a hang
            gc.collect()
            started = time.perf_counter()
            with contextlib.suppress(Exception):
                check(value)
            took = time.perf_counter() - started
        tally.slowest_s = max(tally.slowest_s, took)
        if took > SLOW_S:
            tally.slow += 1
            tally.note(f"slow: over {SLOW_S:.0f} s, twice", value)

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(at)
    @given(strategy)
    def run(value: Any) -> None:
        attempt(value)

    started = time.perf_counter()
    for value in corpus:
        attempt(value)
    run()
    tally.seconds = time.perf_counter() - started
    return tally


def _check_workflows(args: tuple[tuple[dict[str, bytes | str | None], Limits], str]) -> None:
    (files, limits), branch = args
    hostile.check_workflows(files, limits, branch)


def _check_iam(args: tuple[Any, OidcRequest, list[str], str]) -> None:
    document, request, subjects, repository = args
    hostile.check_iam(document, request)
    hostile.check_suggestions(request.provider_arn, subjects, repository)


Target = tuple[st.SearchStrategy[Any], Callable[[Any], None], tuple[Any, ...]]


def targets(scratch: Path) -> dict[str, Target]:
    catalog_file = scratch / "ecrbot.yml"
    return {
        "commands": (hostile.command_texts(), hostile.check_command, hostile.COMMAND_CORPUS),
        "catalog-file": (
            hostile.catalog_files(known_crashes=True),
            lambda data: hostile.check_catalog_file(data, catalog_file),
            tuple(hostile.CATALOG_CRASHES.values()),
        ),
        "catalog-object": (
            st.one_of(hostile.catalog_like(), hostile.json_like()),
            hostile.check_catalog_object,
            ({"registry": {"account_id": "1"}, "a\x1eb": None},),
        ),
        "workflows": (
            st.tuples(hostile.workflow_sets(), hostile.hostile_text(3)),
            _check_workflows,
            tuple(((files, LIMITS), "main") for files in hostile.WORKFLOW_CORPUS),
        ),
        "iam": (
            st.tuples(
                hostile.policy_documents(),
                hostile.trust_requests(),
                st.lists(hostile.hostile_text(3), max_size=3),
                st.sampled_from((hostile.REPOSITORY, "arn:aws:ecr:eu-west-2:1:repository/x"))
                | hostile.hostile_text(2),
            ),
            _check_iam,
            tuple(
                (document, OidcRequest(hostile.PROVIDER, "a" * 300), [], hostile.REPOSITORY)
                for document in hostile.POLICY_CORPUS
            ),
        ),
    }


def verdict(figures: Mapping[str, float]) -> int:
    """0 when inputs were tried in every target and none crashed, broke a rule or was slow."""
    ok = figures["bad"] == 0 and figures["targets_without_inputs"] == 0 and figures["tried"] > 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-target", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--targets", default="", help="comma-separated; default: all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecrbot-fuzz-") as tmp:
        chosen = targets(Path(tmp))
        names = [n for n in args.targets.split(",") if n] or list(chosen)
        unknown = [n for n in names if n not in chosen]
        if unknown:
            parser.error(f"unknown targets {unknown}; choose from {list(chosen)}")
        results = {}
        for name in names:
            strategy, check, corpus = chosen[name]
            results[name] = fuzz(strategy, check, args.per_target, args.seed, corpus)
            t = results[name]
            print(f"  {name}: {t.tried} inputs in {t.seconds:.0f} s", flush=True)
    header = f"{'target':<16}{'inputs':>9}{'crashes':>9}{'violations':>12}{'slow':>6}"
    print(header + f"{'slowest':>10}{'time':>8}")
    print("-" * (len(header) + 18))
    for name, t in results.items():
        print(
            f"{name:<16}{t.tried:>9}{t.crashes:>9}{t.violations:>12}{t.slow:>6}"
            f"{t.slowest_s * 1000:>8.0f}ms{t.seconds:>7.0f}s"
        )
    for name, t in results.items():
        for count, shown, example in sorted(t.kinds.values(), key=lambda kind: -kind[0]):
            print(f"{name}: {count} x {shown}\n    e.g. {example}")
    tried = sum(t.tried for t in results.values())
    bad = sum(t.crashes + t.violations + t.slow for t in results.values())
    crashes = sum(t.crashes for t in results.values())
    idle = sum(1 for t in results.values() if t.tried == 0)
    failed = verdict({"bad": bad, "targets_without_inputs": idle, "tried": tried})
    print(
        f"{'FAIL' if failed else 'PASS'}: {tried} inputs over {len(results)} targets, {crashes} "
        f"crashes, {bad - crashes} violations or slow inputs (floor: none)"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
