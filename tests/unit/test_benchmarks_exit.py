"""Every benchmark exits non-zero when a floor is not met: each one's `verdict(figures)` is fed
figures that meet its floors (0) and, one floor at a time, figures that miss it (non-zero)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_slack_calls import given_up
from tests.standins.slack_api import Call

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# For each benchmark: figures that meet every floor, and for each figure a value that misses.
PASSING: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "bench_ack": (
        {
            "p99_s": 0.126,
            "baseline_p99_s": 0.097,
            "cold_p99_s": 0.128,
            "cold_baseline_p99_s": 0.099,
            "failures": 0,
        },
        {
            "p99_s": 0.300,
            "baseline_p99_s": 0.096,
            "cold_p99_s": 0.300,
            "cold_baseline_p99_s": 0.098,
            "failures": 1,
        },
    ),
    "bench_buildkit": (
        {"warm_ratio": 0.88, "cold_ratio": 0.44},
        {"warm_ratio": 1.01, "cold_ratio": 0.71},
    ),
    "bench_cli_push": ({"ratio": 0.85}, {"ratio": 0.91}),
    "bench_diagnose": ({"slowest_s": 0.42}, {"slowest_s": 1.5}),
    "bench_diagnose_cli": (
        {"median_s": 0.66, "github_max_per_endpoint": 1.0},
        {"median_s": 1.0, "github_max_per_endpoint": 2.0},
    ),
    "bench_fleet": (
        {"scale_ratio": 0.55, "overhead_p95_s": 0.101, "reports_posted": 10, "reports_claimed": 10},
        {"scale_ratio": 0.69, "overhead_p95_s": 0.3, "reports_posted": 11, "reports_claimed": 9},
    ),
    "bench_approvals": (
        {
            "p95_s": 0.09,
            "copied": 10,
            "runs": 10,
            "already_p95_s": 0.3,
            "already_answered": 10,
            "already_runs": 10,
        },
        {"p95_s": 1.0, "copied": 9, "runs": 11, "already_p95_s": 1.0, "already_answered": 9},
    ),
    "bench_promote": (
        {"ratio": 0.45, "digest_kept": 1.0, "already_s": 0.4, "link_mbit": 200, "link_check": 1.02},
        {"ratio": 0.51, "digest_kept": 0.8, "already_s": 1.0, "link_mbit": -1, "link_check": 0.6},
    ),
    "bench_fuzz": (
        {"bad": 0, "targets_without_inputs": 0, "tried": 25_033},
        {"bad": 1, "targets_without_inputs": 1, "tried": 0},
    ),
    "bench_groups": (
        {"slowest_ack_s": 0.021, "unexpected_answers": 0},
        {"slowest_ack_s": 1.0, "unexpected_answers": 1},
    ),
    "bench_load": (
        {
            "slowest_ack_s": 0.228,
            "non_200": 0,
            "duplicates": 0,
            "queue_full_refusals": 2,
            "growth_mb": 52,
        },
        {
            "slowest_ack_s": 3.0,
            "non_200": 1,
            "duplicates": 1,
            "queue_full_refusals": 0,
            "growth_mb": 150,
        },
    ),
    "bench_mutation": (
        {"bot/domain/iam": 92.0, "bot/domain/access.py": 95.0, "bot/domain/matcher.py": 90.0},
        {"bot/domain/iam": 89.9, "bot/domain/access.py": 89.9, "bot/domain/matcher.py": 0.0},
    ),
    "bench_pipeline": ({"manual_s": 1.355, "ecrbot_s": 1.421}, {"manual_s": 1.2, "ecrbot_s": 1.5}),
    "bench_queue_cost": ({"runbook_s": 30.0, "ecrbot_s": 33.0}, {"ecrbot_s": 33.1}),
    "bench_repeat": (
        {"slowest_s": 0.41, "skipped": 10, "runs": 10, "registry_unchanged": 1},
        {"slowest_s": 2.0, "skipped": 9, "registry_unchanged": 0},
    ),
    "bench_report": (
        {"calls_per_repo_spread": 0.1, "slowest_s": 8.2},
        {"calls_per_repo_spread": 0.5, "slowest_s": 30},
    ),
    "bench_report_registries": (
        {"slowest_s": 12.0, "unread_registries": 0, "repositories_missing": 0},
        {"slowest_s": 30, "unread_registries": 1, "repositories_missing": 1},
    ),
    "bench_slack_calls": (
        {"worst_calls_per_push": 7, "given_up": 0},
        {"worst_calls_per_push": 16, "given_up": 1},
    ),
    "bench_triage": (
        {
            "answer_p95_s": 0.008,
            "ack_max_s": 0.009,
            "chatter_answered": 0,
            "errors_sent": 42,
            "errors_answered": 42,
        },
        {"answer_p95_s": 2.0, "ack_max_s": 3.0, "chatter_answered": 1, "errors_answered": 41},
    ),
}


def verdict_of(name: str) -> Any:
    return importlib.import_module(f"benchmarks.{name}").verdict


def test_every_benchmark_has_a_verdict_checked_here() -> None:
    scripts = {path.stem for path in BENCHMARKS.glob("bench_*.py")}
    assert scripts == set(PASSING)
    for name in scripts:
        source = (BENCHMARKS / f"{name}.py").read_text()
        # The exit status is the verdict's: `main` returns it and the script raises SystemExit.
        assert "raise SystemExit(main())" in source, name
        assert callable(verdict_of(name)), name


@pytest.mark.parametrize("name", sorted(PASSING))
def test_figures_that_meet_the_floors_pass(name: str) -> None:
    assert verdict_of(name)(PASSING[name][0]) == 0


CASES = [(name, key) for name, (_, misses) in sorted(PASSING.items()) for key in misses]


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_one_missed_floor_fails_the_benchmark(name: str, key: str) -> None:
    good, misses = PASSING[name]
    assert verdict_of(name)({**good, key: misses[key]}) != 0


@pytest.mark.parametrize("name", sorted(PASSING))
def test_a_figure_that_is_not_a_number_fails(name: str) -> None:
    # A failed measurement (NaN) must not read as a pass.
    good = PASSING[name][0]
    for key in good:
        assert verdict_of(name)({**good, key: math.nan}) != 0, key


def test_fleet_fails_when_nothing_was_measured_and_judges_only_what_was() -> None:
    verdict = verdict_of("bench_fleet")
    assert verdict({}) != 0
    assert verdict({"reports_posted": 10, "reports_claimed": 10}) == 0
    assert verdict({"overhead_p95_s": 0.31}) != 0


def test_promote_checks_the_link_only_when_one_was_modelled() -> None:
    verdict = verdict_of("bench_promote")
    loopback = {"ratio": 0.45, "digest_kept": 1.0, "already_s": 0.4, "link_mbit": 0}
    assert verdict({**loopback, "link_check": 1.0}) == 0
    assert verdict({**loopback, "ratio": 0.64, "link_check": 1.0}) != 0  # the floor, as ever
    shaped = {**loopback, "link_mbit": 200}
    assert verdict({**shaped, "link_check": 0.05}) != 0  # faster than the link: not shaped
    assert verdict({**shaped, "link_check": 1.6}) != 0  # far slower: not the link modelled
    assert verdict({**shaped, "link_check": 0.97}) == 0


def call(method: str, status: int, **params: Any) -> Call:
    return Call(method, dict(params), None, status, 0.0)


def test_a_refused_call_retried_at_the_same_place_is_not_given_up() -> None:
    meta: Mapping[str, Any] = {"event_type": "ecrbot_job", "event_payload": {"job_id": 3}}
    calls = [
        call("chat.postMessage", 429, channel="C1", text="push", metadata=meta),
        call("chat.postMessage", 200, channel="C1", text="push (queued)", metadata=meta),
        call("chat.postMessage", 429, channel="C1", thread_ts="1.0", text="Build 1/3"),
        call("chat.postMessage", 200, channel="C1", thread_ts="1.0", text="Build 2/3"),
        call("chat.update", 429, channel="C1", ts="1.0", text="old"),
        call("chat.update", 200, channel="C1", ts="1.0", text="new"),
    ]
    assert given_up(calls) == 0


def test_a_refused_call_never_made_good_is_given_up() -> None:
    calls = [
        call("chat.postMessage", 200, channel="C1", thread_ts="1.0", text="started"),
        call("chat.postMessage", 503, channel="C1", thread_ts="1.0", text="pushed"),
        call("chat.update", 200, channel="C1", ts="2.0", text="a"),
        call("chat.update", 429, channel="C1", ts="1.0", text="b"),  # another message
        call("chat.postMessage", 429, channel="C2", text="hello"),
    ]
    assert given_up(calls) == 3


def test_the_mutation_score_is_read_per_module_and_package_and_a_partial_run_fails() -> None:
    from benchmarks.bench_mutation import (
        floor_figure,
        mutant_glob,
        parse_results,
        scores,
        verdict,
    )

    assert mutant_glob("bot/domain/iam/") == "bot.domain.iam.*"
    assert mutant_glob("bot/domain/access.py") == "bot.domain.access.*"
    lines = [
        "    bot.domain.access.xǁRateLimiterǁtake__mutmut_1: killed",
        "    bot.domain.access.x_duration__mutmut_2: survived",
        "    bot.domain.iam.trust.x_allows__mutmut_1: killed",
        "    bot.domain.iam.policy.x_parse__mutmut_4: timeout",
        "    bot.domain.iam.policy.x_parse__mutmut_5: no tests",
        "    bot.domain.iam.policy.x_parse__mutmut_6: skipped",
        "not a result line",
    ]
    results = scores(parse_results(lines))
    assert results["bot/domain/access.py"][0] == 50.0
    assert results["bot/domain/iam/policy.py"][0] == 50.0  # skipped is left out, no tests isn't
    assert round(results["bot/domain/iam"][0], 1) == 66.7
    assert round(results["bot/domain"][0], 1) == 60.0
    partial = [
        "    bot.domain.matcher.x_match__mutmut_1: killed",
        "    bot.domain.matcher.x_match__mutmut_2: not checked",
    ]
    value, counts = scores(parse_results(partial))["bot/domain/matcher.py"]
    assert value == 100.0  # of the mutants checked
    assert verdict({"bot/domain/matcher.py": floor_figure(value, counts)}) != 0
