"""Workflow files are hostile input: every bound holds, a skipped file is named, nothing raises."""

from __future__ import annotations

import resource
import time

import pytest

from bot.domain.bounded_yaml import Limits
from bot.domain.checks.model import Status
from bot.domain.workflow.analysis import analyse_workflows
from bot.render import diagnose as render
from tests.unit.test_checks import healthy as app_facts

GOOD = b"""on: push
permissions: {id-token: write, contents: read}
jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: {role-to-assume: "arn:aws:iam::123456789012:role/ci", aws-region: eu-west-2}
      - run: ecrbot push --app my-app --sha ${{ github.sha }}
"""
# The billion-laughs shape: nine levels of nine aliases, 9**9 strings once expanded (450 bytes).
ALIAS_BOMB = (
    b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
        for i in range(8)
    )
    + b"on: push\njobs: {j: {runs-on: x, steps: *i}}\n"
)


def skipped(given: dict[str, bytes | None], **limits: int) -> dict[str, str | None]:
    reports = analyse_workflows(given, Limits(**limits))
    return {r.workflow: r.skipped for r in reports}


@pytest.mark.wall_clock
def test_an_alias_bomb_is_refused_before_it_is_built() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = skipped({"bomb.yml": ALIAS_BOMB, "good.yml": GOOD})
    assert len(ALIAS_BOMB) < 600
    assert "expands to more than 50,000 YAML nodes" in str(result["bomb.yml"])
    assert result["good.yml"] is None
    assert time.monotonic() - started < 2
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000  # today's code reached 2 GB


def test_a_recursive_alias_is_refused() -> None:
    result = skipped({"loop.yml": b"on: push\njobs: &j {a: *j}\n"})
    assert result["loop.yml"] == "an alias refers to itself; not read"


@pytest.mark.wall_clock
def test_a_huge_file_is_not_parsed() -> None:
    big = GOOD + b"# padding\n" * 600_000  # 6 MB
    started = time.monotonic()
    assert "larger than 256 KiB" in str(skipped({"big.yml": big})["big.yml"])
    assert time.monotonic() - started < 0.5


def test_deep_nesting_is_refused_without_a_recursion_error() -> None:
    deep = b"on: push\njobs: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    assert "nested deeper than 64 levels" in str(skipped({"deep.yml": deep})["deep.yml"])


def test_one_undecodable_file_does_not_blind_the_others() -> None:
    reports = analyse_workflows({"bad.yml": GOOD + b"# \xff\xfe\n", "good.yml": GOOD})
    by_path = {r.workflow: r for r in reports}
    assert "not UTF-8" in str(by_path["bad.yml"].skipped)
    assert by_path["good.yml"].jobs and by_path["good.yml"].jobs[0].id_token == "write"


def test_too_many_files_and_jobs_are_named_not_read() -> None:
    files: dict[str, bytes | None] = {f"w{i:02}.yml": GOOD for i in range(5)}
    files["zz.yml"] = None  # the adapter did not even read it
    result = skipped(files, files=3)
    assert [p for p, why in result.items() if why] == ["w03.yml", "w04.yml", "zz.yml"]
    many = b"on: push\njobs:\n" + b"".join(
        f"  j{i}: {{runs-on: x, steps: [{{run: echo}}]}}\n".encode() for i in range(500)
    )
    reports = analyse_workflows({"many.yml": many})
    assert len(reports[0].jobs) == 256 and "244 of its jobs were not read" in str(
        reports[0].skipped
    )


def test_reusable_calls_cannot_multiply_the_work() -> None:
    caller = b"on: push\njobs:\n" + b"".join(
        f"  c{i}: {{uses: ./.github/workflows/called.yml}}\n".encode() for i in range(200)
    )
    called = b"on: workflow_call\njobs:\n" + b"".join(
        f"  j{i}: {{runs-on: x, steps: [{{run: echo}}]}}\n".encode() for i in range(200)
    )
    reports = analyse_workflows(
        {".github/workflows/caller.yml": caller, ".github/workflows/called.yml": called}
    )
    assert sum(len(r.jobs) for r in reports) <= 1000
    assert any("a diagnose stops at 1000 jobs" in str(r.skipped) for r in reports)


def test_a_checklist_of_hundreds_of_jobs_posts_three_messages_and_a_file() -> None:
    jobs = b"".join(
        f"""  j{i}:
    runs-on: x
    permissions: {{id-token: write}}
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: {{role-to-assume: "arn:aws:iam::123456789012:role/ci", aws-region: us-east-1}}
""".encode()
        for i in range(250)
    )
    from bot.domain.checks.checklist import check_app
    from bot.domain.checks.model import Fact

    facts = app_facts(workflows=Fact(analyse_workflows({"w.yml": b"on: push\njobs:\n" + jobs})))
    report = check_app(facts)
    assert len(report.results) > 500
    messages = render.checklist(report)
    assert len(messages) == render.MAX_MESSAGES
    assert all(len(blocks) <= 50 for blocks in messages)
    assert "every check is in the attached file" in str(messages[-1][-1])
    assert render.needs_file(report)
    assert report.results[0].status is Status.FAIL or any(
        r.status is Status.FAIL for r in report.results
    )
