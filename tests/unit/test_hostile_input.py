"""Hostile input to the parsers of outside text: each answers within its contract or refuses
with its own error type, and never crashes or hangs. Strategies and properties live in
`tests/hostile.py`; `benchmarks/bench_fuzz.py` runs the same ones for much longer."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_catalog
from bot.domain import commands
from bot.domain.bounded_yaml import LIMITS, Limits
from bot.domain.errors import ConfigError, UsageError
from bot.domain.iam.trust import (
    OidcRequest,
    PolicyError,
    evaluate_trust,
    parse_policy,
    trust_findings,
)
from bot.domain.workflow.analysis import analyse_workflows
from tests import hostile

FAST = settings(max_examples=150, deadline=None)


def repr_id(text: str) -> str:
    return repr(text)[:24] + (f"...({len(text)})" if len(text) > 20 else "")


# --- The /ecr command parser ---


@settings(max_examples=400, deadline=None)
@given(hostile.command_texts())
def test_the_parser_returns_a_command_or_a_usage_error(text: str) -> None:
    hostile.check_command(text)


@pytest.mark.parametrize("text", [*hostile.HOSTILE, *hostile.LONG], ids=repr_id)
def test_every_listed_hostile_string_alone_and_as_each_argument(text: str) -> None:
    hostile.check_command(text)
    for template in ("push {} 1a2b3c4", "push my-app {}", "push my-app 1a2b3c4 {}", "cancel {}",
                     "diagnose {}", "diagnose my-app --branch {}", "diagnose --env={}",
                     "diagnose --sha {}", "report {}"):  # fmt: skip
        hostile.check_command(template.format(text))
        hostile.check_command(template.format(shlex.quote(text)))


@pytest.mark.parametrize("ref", ["HEAD~1", "HEAD", "main", "latest", "v1.0.0", "1a2b3c", "g" * 7])
def test_refs_are_not_shas(ref: str) -> None:
    with pytest.raises(UsageError, match="is not a git SHA"):
        commands.parse(f"push my-app {ref}")
    with pytest.raises(UsageError, match="is not a git SHA"):
        commands.parse(f"diagnose my-app --sha {ref}")


@pytest.mark.parametrize(
    "word", ["0", "#0", "000", "\u00b2", "\uff11\uff12", "\u0663", "-1", "1e3", "1234567890"]
)
def test_job_numbers_are_ascii_digits_from_1(word: str) -> None:
    # Regression: `cancel 0` (and `#0`, `000`) gave Cancel(0); job ids count from 1.
    with pytest.raises(UsageError, match="is not a job number"):
        commands.parse(f"cancel {word}")
    with pytest.raises(UsageError):
        commands.job_id(word)


@pytest.mark.parametrize(
    "app", ["<@U123>", "<#C123|name>", "&lt;x", "\u0430pp", "$(id)", "`id`", "my-app;id", "--help"]
)
def test_slack_markup_shell_and_look_alikes_are_not_app_names(app: str) -> None:
    with pytest.raises(UsageError):
        commands.parse(f"push {shlex.quote(app)} 1a2b3c4")


# --- The catalog ---


@FAST
@given(hostile.catalog_like(hostile.single_line(hostile.hostile_text(3))))
def test_catalog_objects_validate_or_give_one_line_per_problem(obj: Any) -> None:
    hostile.check_catalog_object(obj)


@FAST
@given(hostile.json_like(hostile.single_line(hostile.hostile_text(3))))
def test_any_json_value_as_a_catalog(obj: Any) -> None:
    hostile.check_catalog_object(obj)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hostile.catalog_files())
def test_catalog_files_load_or_raise_config_error(tmp_path: Path, data: bytes) -> None:
    hostile.check_catalog_file(data, tmp_path / "ecrbot.yml")  # rewritten for every example


@pytest.mark.wall_clock
def test_an_alias_bomb_in_the_catalog_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "ecrbot.yml"
    for tail in (
        "registry: *i\n",
        "slack: {channels: *i}\n",
        "apps: {x: {source: s, pushers: *i}}\n",
    ):
        path.write_text(hostile.alias_bomb(tail))
        started = time.monotonic()
        with pytest.raises(ConfigError, match=r"problem|expands to more than"):
            load_catalog(path)
        assert time.monotonic() - started < 2


# Found by the fuzzer: these used to escape load_catalog as raw Python errors.
@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("not UTF-8", "is not UTF-8 text"),
        ("explicit tag with a bad value", "not valid YAML"),
        ("a date that does not exist", "not valid YAML"),
        ("deep nesting", "nested deeper than 64 levels"),
        ("a number over Python's digit limit", "not valid YAML"),
    ],
)
def test_a_catalog_python_cannot_read_is_a_clear_config_error(
    tmp_path: Path, name: str, said: str
) -> None:
    path = tmp_path / "ecrbot.yml"
    path.write_bytes(hostile.CATALOG_CRASHES[name])
    with pytest.raises(ConfigError, match=said) as refused:
        load_catalog(path)
    assert "\n" not in str(refused.value)


def test_a_catalog_key_with_a_line_break_stays_on_its_problem_line() -> None:
    # "\x1e" (a str.splitlines separator) or an escape sequence is shown, never obeyed.
    hostile.check_catalog_object({"registry": {"account_id": "1"}, "a\x1eb": None})
    hostile.check_catalog_object({"registry": {"account_id": "1"}, "\x1b[2Jx": None})


# --- GitHub Actions workflows ---


@settings(max_examples=120, deadline=None)
@given(hostile.workflow_sets(), hostile.hostile_text(3))
def test_workflow_analysis_never_raises_and_keeps_its_bounds(
    files_and_limits: tuple[dict[str, bytes | str | None], Limits], branch: str
) -> None:
    files, limits = files_and_limits
    hostile.check_workflows(files, limits, branch)


@settings(max_examples=60, deadline=None)
@given(st.lists(hostile.workflow_dicts(), min_size=1, max_size=3))
def test_generated_workflows_as_a_repository(workflows: list[dict[str, Any]]) -> None:
    files: dict[str, bytes | str | None] = {
        hostile.CALLED if i == 0 else f".github/workflows/w{i}.yml": yaml.safe_dump(wf)
        for i, wf in enumerate(workflows)
    }
    hostile.check_workflows(files)
    hostile.check_workflows(files, hostile.SMALL)


@pytest.mark.parametrize(
    "value",
    ["!!int ''", "!!int abc", "!!int " + "1" * 5000, "!!float x", "!!bool maybe", "!!timestamp x",
     "!!timestamp 2001-02-30", "!!timestamp 2001-13-01"],
)  # fmt: skip
def test_explicit_tags_with_bad_values_are_named_not_raised(value: str) -> None:
    # Regression: PyYAML's constructors raised IndexError/ValueError/KeyError/AttributeError.
    (report,) = analyse_workflows({"w.yml": f"on: {value}\njobs: {{j: {{runs-on: x}}}}\n"})
    assert report.error is not None and report.error.startswith("not valid YAML: line 1, column 5")
    assert "cannot read" in report.error and not report.jobs


def short(pattern: str) -> str:
    return f"{pattern[:6]}...({len(pattern)})"


@pytest.mark.wall_clock
@pytest.mark.parametrize("pattern", [*hostile.GLOB_BOMBS, "a?" * 20_000, "**a" * 10_000], ids=short)
def test_a_glob_bomb_in_a_branch_filter_is_matched_quickly(pattern: str) -> None:
    # Regression: `**`*12 + "X" took Python's backtracking `re` minutes per branch.
    text = f"""on: {{push: {{branches: ['{pattern}'], tags: ['{pattern}']}}}}
jobs:
  j:
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
"""
    started = time.monotonic()
    (report,) = analyse_workflows({"w.yml": text})
    (job,) = report.jobs
    for branch in ("main", "a" * 255, "dependabot/pip/requests-2.32.0"):
        assert job.subjects("acme/my-app", branch)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("pattern", "branch", "expected"),
    [
        ("main", "main", True),
        ("release/**", "release/1.x/hotfix", True),
        ("release/*", "release/1.x/hotfix", False),
        ("v+1", "vvv1", True),
        ("v?1", "1", True),
        ("feature/?x", "featurex", True),  # `?` makes the `/` before it optional
        ("feature/?x", "feature//x", False),
        ("?main", "?main", True),  # nothing to repeat: the pattern only matches itself
        ("*", "a/b", False),
        ("**", "a/b", True),
    ],
)
def test_branch_globs_keep_their_meaning(pattern: str, branch: str, expected: bool) -> None:
    from bot.domain.workflow.permissions import RefRule, runs_on_branch

    assert runs_on_branch(RefRule("heads", (pattern,)), branch) is expected


def test_workflow_limits_in_the_strategies_are_stricter_than_the_defaults() -> None:
    assert all(getattr(hostile.SMALL, f) < getattr(LIMITS, f) for f in Limits.__dataclass_fields__)


# --- IAM policies ---


@settings(max_examples=250, deadline=None)
@given(hostile.policy_documents(), hostile.trust_requests())
def test_policies_parse_or_raise_policy_error_and_evaluate_without_error(
    document: Any, request: OidcRequest
) -> None:
    hostile.check_iam(document, request)


@FAST
@given(
    st.sampled_from((hostile.PROVIDER, "arn:aws:iam::1:oidc-provider/x")) | hostile.hostile_text(2),
    st.lists(st.sampled_from(hostile.CLAIM_VALUES) | hostile.hostile_text(3), max_size=3),
    st.sampled_from((hostile.REPOSITORY, "arn:aws:ecr:eu-west-2:1:repository/x"))
    | hostile.hostile_text(2),
)
def test_suggested_fixes_are_refused_or_do_what_they_say(
    provider: str, subjects: list[str], repository: str
) -> None:
    hostile.check_suggestions(provider, subjects, repository)


@pytest.mark.parametrize(
    "document",
    [
        '{"Statement": ' + hostile.nested(100_000, "") + "}",  # RecursionError in json.loads
        '{"Statement": ' + "1" * 5000 + "}",  # ValueError: over Python's int digit limit
        quote('{"Statement": ' + hostile.nested(100_000, "") + "}"),
    ],
)
def test_unreadable_json_is_a_policy_error(document: str) -> None:
    # Regression: only JSONDecodeError was caught.
    with pytest.raises(PolicyError, match="not valid JSON"):
        parse_policy(document)


def test_policy_errors_stay_short_however_big_or_deep_the_value() -> None:
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    for statement in (
        {"Effect": list(range(100_000)), "Action": "a"},
        {"Effect": "Allow", "Action": [deep]},
        {"Effect": deep, "Action": "a"},
    ):
        with pytest.raises(PolicyError) as caught:
            parse_policy({"Statement": statement})
        assert len(str(caught.value)) < 300


@pytest.mark.wall_clock
@pytest.mark.parametrize("pattern", hostile.GLOB_BOMBS, ids=short)
def test_a_glob_bomb_in_a_trust_policy_is_matched_quickly(pattern: str) -> None:
    # Regression: "*"*10 + "X" took the regex seconds, and each star more multiplied it.
    policy = parse_policy(
        {
            "Statement": {
                "Effect": "Allow",
                "Principal": {"Federated": hostile.PROVIDER},
                "Action": ["sts:AssumeRoleWithWebIdentity", pattern],
                "Resource": pattern,
                "Condition": {"StringLike": {f"{hostile.HOST}:sub": pattern}},
            }
        }
    )
    started = time.monotonic()
    for subject in ("repo:acme/my-app:ref:refs/heads/main", "repo:" + "a" * 300):
        decision = evaluate_trust(policy, OidcRequest(hostile.PROVIDER, subject))
        assert not decision.allowed and decision.near_misses
    assert trust_findings(policy, hostile.PROVIDER)
    hostile.check_iam(policy_document(pattern), OidcRequest(hostile.PROVIDER, "a" * 300))
    assert time.monotonic() - started < 1


def policy_document(pattern: str) -> dict[str, Any]:
    return {"Statement": {"Effect": "Deny", "NotAction": pattern, "NotResource": pattern}}
