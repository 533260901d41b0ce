"""The matcher's edges the mutation benchmark found unguarded: the AWS CLI's `(Code)` form,
questions with trailing blanks, and the bounds on one line and on hosts and region settings."""

from __future__ import annotations

import pytest

from bot.domain.matcher import MAX_LINE, first_match, match
from bot.domain.triage import triage

CLI_NOT_FOUND = (
    "An error occurred (RepositoryNotFoundException) when calling the DescribeImages "
    "operation: The repository with name 'my-app' does not exist in the registry with id "
    "'123456789012'"
)


def ids(text: str) -> list[str]:
    return [found.id for found in match(text)]


def test_the_aws_cli_form_of_an_error_code_matches() -> None:
    assert ids(CLI_NOT_FOUND) == ["repository_not_found"]
    # The code in parentheses is what shows the error, whatever precedes it on the line (in a
    # paste: a one-line message must also look like a log line, issue #18's chatter rule).
    assert ids("step 3 printed (RepositoryNotFoundException) and stopped\nexit status 1") == [
        "repository_not_found"
    ]


def test_the_code_in_prose_or_half_a_parenthesis_is_not_an_error() -> None:
    assert ids("RepositoryNotFoundException is what ECR raises for a typo") == []
    assert ids("we saw (RepositoryNotFoundException once, then it worked") == []
    assert ids("we saw RepositoryNotFoundException) once") == []
    # Pasted (no one-line rule to hide it): half a parenthesis is still no code form.
    assert ids("we saw (RepositoryNotFoundException once\nexit status 1") == []
    assert ids("we saw RepositoryNotFoundException) once\nexit status 1") == []


def test_a_question_is_not_answered_even_with_blanks_after_its_question_mark() -> None:
    # The phrase starts the line, so only the question mark keeps this from being an error.
    question = "no basic auth credentials on every push, what does it mean?"
    assert ids(question.removesuffix("?")) == ["no_basic_auth"]
    for trailing in ("", " ", "  ", "\t"):
        assert triage(question + trailing) is None, repr(trailing)


def test_only_the_first_2000_characters_of_a_line_are_read() -> None:
    # The marker starts the line; the phrase sits just inside or just past the line limit.
    marker = "Error: "
    phrase = "no basic auth credentials"
    inside = marker + " " * (MAX_LINE - len(marker) - len(phrase)) + phrase
    assert len(inside) == MAX_LINE and ids(inside) == ["no_basic_auth"]
    past = marker + " " * (MAX_LINE - len(marker)) + phrase
    assert ids(past) == []
    # The next line is read again from its start.
    assert ids(past + "\n" + phrase) == ["no_basic_auth"]


def host(region: str) -> str:
    return f"123456789012.dkr.ecr.{region}.amazonaws.com"


def test_at_most_50_registry_hosts_are_looked_at() -> None:
    # 50 hosts in eu-west-1, then the one the login names: the 51st is not read, so the
    # login's region names none of the hosts read.
    hosts = " ".join(host("eu-west-1") for _ in range(50))
    text = f"{hosts} {host('eu-west-2')}\n--region eu-west-2\nno basic auth credentials"
    mismatch = first_match(text)
    assert mismatch is not None and mismatch.id == "region_mismatch"
    assert mismatch.detail("registry_region") == "eu-west-1"
    assert mismatch.detail("configured_region") == "eu-west-2"
    # With the matching host among the first 50, there is no mismatch.
    hosts = " ".join(host("eu-west-1") for _ in range(49))
    text = f"{hosts} {host('eu-west-2')}\n--region eu-west-2\nno basic auth credentials"
    assert ids(text) == ["no_basic_auth"]


def test_at_most_50_region_settings_are_looked_at() -> None:
    settings = "\n".join("--region us-east-1" for _ in range(50))
    text = f"{host('eu-west-1')}\n{settings}\n--region eu-west-1\nno basic auth credentials"
    mismatch = first_match(text)
    assert mismatch is not None and mismatch.id == "region_mismatch"
    assert mismatch.detail("configured_region") == "us-east-1"
    settings = "\n".join("--region us-east-1" for _ in range(49))
    text = f"{host('eu-west-1')}\n{settings}\n--region eu-west-1\nno basic auth credentials"
    assert ids(text) == ["no_basic_auth"]


def test_an_error_marker_without_a_signature_still_lets_a_region_mismatch_show() -> None:
    # No signature on any line, but the first shows an error: the region rule applies.
    text = f"Error: the push failed\nlogin {host('eu-west-2')} with --region us-east-1"
    assert ids(text) == ["region_mismatch"]
    # The same words with no error shown are chat, not a failure.
    assert ids(f"the push is fine\nlogin {host('eu-west-2')} with --region us-east-1") == []


def test_a_region_mismatch_needs_both_a_host_and_a_setting() -> None:
    assert ids(f"Error: push failed\n{host('eu-west-2')}") == []
    assert ids("Error: push failed\n--region us-east-1") == []


def test_a_region_mismatch_names_every_region_once_and_no_line() -> None:
    text = (
        f"Error: denied\n{host('eu-west-2')} {host('eu-west-3')} {host('eu-west-2')}\n"
        "--region us-east-1 --region us-west-2 --region us-east-1"
    )
    found = first_match(text)
    assert found is not None and found.id == "region_mismatch"
    assert found.detail("registry_region") == "eu-west-2, eu-west-3"
    assert found.detail("configured_region") == "us-east-1, us-west-2"
    assert found.line == ""  # judged over the whole text, not shown by one line


def test_first_match_reads_a_pasted_text_by_default() -> None:
    # By default the text is a paste (shape rules apply); a known failure is opted into.
    question = "no basic auth credentials, why?"
    assert first_match(question) is None
    found = first_match(question, known_failure=True)
    assert found is not None and found.id == "no_basic_auth"


def test_a_loose_phrase_counts_only_after_an_error_marker() -> None:
    assert ids("Error: could not reach the docker engine") == ["engine_unreachable"]
    assert ids("the docker engine on my laptop is slow") == []
    assert ids("Error: Dockerfile at ./app was not found") == ["dockerfile_missing"]
    assert [m.id for m in match("the docker engine is gone", known_failure=True)] == [
        "engine_unreachable"
    ]


def test_a_code_followed_by_its_colon_or_in_spaced_parentheses_is_an_error() -> None:
    assert ids("RepositoryNotFoundException: The repository with name 'x' does not exist") == [
        "repository_not_found"
    ]
    assert ids("RepositoryNotFoundException :") == []  # the colon must follow the code
    spaced = "call failed with ( RepositoryNotFoundException ) twice\nexit status 1"
    assert ids(spaced) == ["repository_not_found"]


def test_the_line_a_signature_is_shown_on_is_kept_stripped() -> None:
    found = first_match("   no basic auth credentials   ")
    assert found is not None and found.line == "no basic auth credentials"


def test_a_one_line_log_is_read_past_its_noise() -> None:
    # A timestamp alone before the phrase: log-shaped, not chatter.
    assert ids("2024-05-01T10:00:00Z no basic auth credentials") == ["no_basic_auth"]
    # "An error occurred (...)" is the CLI's own line, after a [Container] prefix too.
    assert ids(f"[Container] {CLI_NOT_FOUND}") == ["repository_not_found"]
    # No signature, but the CLI's error line marks it: the region rule applies.
    cli = "An error occurred (Throttling) when calling the GetAuthorizationToken operation:"
    text = f"{cli} login {host('eu-west-2')} --region us-east-1"
    assert ids(text) == ids(f"[Container] {text}") == ["region_mismatch"]


NO_AUTH = "no basic auth credentials"


@pytest.mark.parametrize(
    ("line", "answered"),
    [
        (f"Error: FYI `docker` says `{NO_AUTH}` so log in", False),  # the third ` is open
        (f"Error: when `a` `b` then {NO_AUTH}", True),  # four: all closed
        (f"Error: run `docker login` when you see `{NO_AUTH}`", False),  # the cue: before the last
        (f"Error: see “x” when you get “{NO_AUTH}", False),
        (f"Error: when “{NO_AUTH}” shows", False),
        (f"Error: when “x” and “y” see {NO_AUTH}", True),  # closed curly quotes
        (f"Error: when “x” then {NO_AUTH}", True),
        (f"Error: when '{NO_AUTH}' shows", False),
        (f"Error: when 'x' then {NO_AUTH}", True),
        (f"Error: when '' then {NO_AUTH}", True),
        (f"Error: if this helps, {NO_AUTH}", True),  # a cue, but no quote
        (f"Error: “when {NO_AUTH}", True),  # the cue inside the quote: not before it
        (f"Error: 'when {NO_AUTH}", True),
    ],
)
def test_a_paste_quoting_its_error_after_a_prose_cue_is_not_answered(
    line: str, answered: bool
) -> None:
    # Two lines: a paste, so the one-line rule stays out of the way of the quote rule.
    assert ids(f"{line}\nthanks") == (["no_basic_auth"] if answered else [])


def test_a_one_line_message_is_answered_only_as_a_log_line_or_a_paste() -> None:
    # An error marker after chat words: chatter on one line (no answer, no region rule)...
    assert ids("we got Error: no basic auth credentials") == []
    assert ids("we got Error: could not reach the docker engine") == []  # a loose phrase
    assert ids(f"we got Error: login {host('eu-west-2')} --region us-east-1") == []
    # ...but a paste in a code block, even on one line.
    assert ids("```we got Error: no basic auth credentials```") == ["no_basic_auth"]
