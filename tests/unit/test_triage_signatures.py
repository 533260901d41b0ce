"""The signature matcher on real error texts (tests/data/triage, each citing its source) and on
near-misses, and the push pipeline's explain() giving the same words for the same text."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.failures import explain, token_expired
from bot.domain.matcher import MAX_TEXT, first_match, match
from bot.domain.models import Step
from bot.domain.signatures import CATALOGUE, REGION

DATA = Path(__file__).parent.parent / "data" / "triage"
# Examples are named <signature>__<source>.txt; chatter.txt beside them is ordinary chat.
EXAMPLES = sorted(path for path in DATA.glob("*.txt") if "__" in path.name)
NEAR_MISSES = sorted((DATA / "near_miss").glob("*.txt"))


def read(path: Path) -> tuple[str, list[str]]:
    """The text without its header lines, and the ids its `# expect:` line names."""
    lines = path.read_text().splitlines(keepends=True)
    assert lines[0].startswith("# source: "), f"{path.name} must cite its source"
    expect = lines[1].removeprefix("# expect: ").split() if lines[1].startswith("# expect:") else []
    body = "".join(line for line in lines if not line.startswith(("# source:", "# expect:")))
    return body, expect


def test_there_are_examples_for_every_signature_the_issue_lists() -> None:
    named = {path.name.split("__")[0] for path in EXAMPLES}
    assert named >= {
        "no_credentials",
        "actions_id_token_missing",
        "assume_role_denied",
        "no_oidc_provider",
        "incorrect_token_audience",
        "no_basic_auth",
        "token_expired",
        "repository_not_found",
        "immutable_tag",
        "ecr_action_denied",
        "access_denied",
        "rate_limited",
        "buildkit_required",
        "region_mismatch",
    }
    assert named <= {signature.id for signature in CATALOGUE}
    assert len(NEAR_MISSES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_matches_exactly_its_signatures(path: Path) -> None:
    body, expect = read(path)
    assert expect and expect[0] == path.name.split("__")[0]
    assert [m.id for m in match(body)] == expect


@pytest.mark.parametrize("path", NEAR_MISSES, ids=lambda p: p.stem)
def test_near_misses_match_nothing(path: Path) -> None:
    body, _ = read(path)
    assert match(body) == []


def test_the_denied_ecr_action_is_named_back_with_a_least_privilege_statement() -> None:
    body, _ = read(DATA / "ecr_action_denied__cloud_platform_7245.txt")
    found = first_match(body)
    assert found is not None
    resource = "arn:aws:ecr:eu-west-2:754256621582:repository/laa-pcuam/csv-converter"
    assert found.detail("action") == "ecr:InitiateLayerUpload"
    assert found.detail("resource") == resource
    assert "`ecr:InitiateLayerUpload`" in found.explanation
    assert '"Action": "ecr:GetAuthorizationToken", "Resource": "*"' in found.fix
    assert f'"ecr:PutImage"], "Resource": "{resource}"' in found.fix


def test_repository_and_registry_are_extracted() -> None:
    body, _ = read(DATA / "repository_not_found__fabric8_369.txt")
    found = first_match(body)
    assert found is not None
    assert found.detail("repository") == "tomcat"
    assert found.detail("registry_id") == "295240448163"
    assert "`tomcat`" in found.explanation


def test_immutable_tag_names_the_tag_and_repository() -> None:
    body, _ = read(DATA / "immutable_tag__containers_roadmap_862.txt")
    found = first_match(body)
    assert found is not None
    assert (found.detail("tag"), found.detail("repository")) == ("latest", "app_service_image")


def test_region_mismatch_names_both_regions() -> None:
    body, _ = read(DATA / "region_mismatch__runbook_workflow.txt")
    found = first_match(body)
    assert found is not None and found.id == "region_mismatch"
    assert found.detail("configured_region") == "eu-west-1"
    assert found.detail("registry_region") == "eu-west-2"
    assert "get-login-password`) to `eu-west-2`," in found.fix
    assert "Ensure the `aws-region` matches the registry region" in found.fix


def test_the_oidc_provider_url_is_extracted() -> None:
    body, _ = read(DATA / "no_oidc_provider__configure_aws_credentials_280.txt")
    found = first_match(body)
    assert found is not None
    assert found.detail("provider") == "https://token.actions.githubusercontent.com"


def ci_log(error: str) -> str:
    """30 lines of a GitHub Actions log with `error` in the middle."""
    lines = [
        f"2026-12-01T08:{i:02d}:00.0000000Z #{i} [build {i}/30] RUN make step-{i}"
        for i in range(30)
    ]
    lines[15] = f"2026-12-01T08:15:00.0000000Z {error}"
    return "my push is broken since this morning\n```\n" + "\n".join(lines) + "\n```"


def test_a_pasted_ci_log_matches_its_one_error() -> None:
    log = ci_log("Error: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    assert [m.id for m in match(log)] == ["assume_role_denied"]
    assert [m.id for m in match(ci_log("no basic auth credentials"))] == ["no_basic_auth"]
    assert match(ci_log("Step 3/4 : RUN --mount=type=cache,target=/root/.cache make")) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_explain_gives_the_same_title_as_match(path: Path) -> None:
    body, _ = read(path)
    found = first_match(body)
    assert found is not None
    failure = explain(Step.PUSH, body)
    assert (failure.title, failure.explanation, failure.fix) == (
        found.title,
        found.explanation,
        found.fix,
    )


def test_explain_still_knows_a_failure_without_the_error_shape() -> None:
    # The pipeline's text is an error by where it came from: no marker needed.
    assert explain(Step.PUSH, "retrying push: no basic auth credentials").title == (
        "Docker had no credentials for the registry"
    )
    assert explain(Step.BUILD, "something odd").title == "The build step failed"
    assert token_expired("denied: Your authorization token has expired. Reauthenticate")
    assert not token_expired("no basic auth credentials")


def test_outside_text_in_explanations_is_a_code_span() -> None:
    found = first_match("name unknown: The repository with name 'a`b <@U1>' does not exist")
    assert found is not None
    assert "`a\u02cbb <@U1>`" in found.explanation


def test_only_the_first_20_kb_are_scanned() -> None:
    text = "x" * MAX_TEXT + "\nno basic auth credentials\n"
    assert match(text) == []


PIECES = [*"aZ0 :'-./[]\n`?", "tag invalid: ", "name unknown: ", "ecr:", "Error: ", "x" * 50]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=400).map("".join)


@pytest.mark.wall_clock
@settings(max_examples=60, deadline=None)
@given(HOSTILE, st.integers(min_value=1, max_value=10))
def test_hostile_10_kb_texts_finish_fast(chunk: str, repeat: int) -> None:
    text = (chunk * (10_000 // max(len(chunk), 1) + 1))[:10_000] if chunk else ""
    started = time.perf_counter()
    for _ in range(repeat):
        match(text)
        match(text, known_failure=True)
    assert time.perf_counter() - started < 0.5 * repeat


@pytest.mark.wall_clock
@pytest.mark.parametrize(
    "text",
    [
        "'" + "name unknown: The repository with name '" * 300,
        "tag invalid: The image tag '" + "a" * 9_000,
        "not authorized to perform: ecr:" + "A" * 9_000,
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com --region eu-west-1 " * 150,
        "[" * 10_000,
        ("Error: " * 1_400)[:10_000],
    ],
)
def test_worst_case_shapes_finish_fast(text: str) -> None:
    started = time.perf_counter()
    match(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("signature", CATALOGUE, ids=lambda s: s.id)
def test_no_detail_lands_inside_a_code_span(signature: object) -> None:
    # A detail becomes its own code span; inside another one it would break the markup.
    for template in (signature.explanation, signature.fix):  # type: ignore[attr-defined]
        for at in [i for i, char in enumerate(template) if char == "$"]:
            assert template[:at].count("`") % 2 == 0, template


# -- chatter: ordinary chat in the support channel must never be answered -----------------------

CHATTER = DATA / "chatter.txt"
# Words of the signatures a tricky chatter line uses without showing an error.
SIGNATURE_WORDS = re.compile(
    r"credential|denied|denial|expired|rate limit|pull limit|immutab|buildkit|--mount"
    rf"|{REGION}|assumerolewithwebidentity|id-token|audience|does not exist|toomanyrequests"
    r"|unauthori|authori[sz]ation token|authentication required|basic auth|not authorized"
    r"|name unknown|oidc|trust policy|\b429\b|exception|docker engine|docker\.sock|not found",
    re.IGNORECASE,
)


def chatter_lines() -> list[str]:
    """The chat messages of chatter.txt: every line but its `#` header."""
    lines = CHATTER.read_text().splitlines()
    assert lines[0].startswith("# source: "), "chatter.txt must cite its sources"
    assert any(line.startswith("# note: ") for line in lines)
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_the_chatter_corpus_is_large_varied_and_tricky() -> None:
    lines = chatter_lines()

    assert len(lines) >= 220
    assert len(set(lines)) == len(lines), "a line appears twice"
    assert sum(1 for line in lines if SIGNATURE_WORDS.search(line)) >= 60


@pytest.mark.parametrize("line", chatter_lines())
def test_a_chatter_line_matches_nothing(line: str) -> None:
    assert [m.id for m in match(line)] == []


def test_chatter_joined_as_one_message_matches_nothing() -> None:
    joined = "\n".join(chatter_lines())

    assert len(joined) <= MAX_TEXT, "the matcher would not read the whole corpus: split it"
    # Also no region mismatch between the corpus's registry hosts and its other regions.
    assert [m.id for m in match(joined)] == []
