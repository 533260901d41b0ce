"""The matcher's edges the mutation benchmark found unguarded: the AWS CLI's `(Code)` form,
questions with trailing blanks, and the bounds on one line and on hosts and region settings."""

from __future__ import annotations

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
    # The code in parentheses is what shows the error, whatever precedes it on the line.
    assert ids("step 3 printed (RepositoryNotFoundException) and stopped") == [
        "repository_not_found"
    ]


def test_the_code_in_prose_or_half_a_parenthesis_is_not_an_error() -> None:
    assert ids("RepositoryNotFoundException is what ECR raises for a typo") == []
    assert ids("we saw (RepositoryNotFoundException once, then it worked") == []
    assert ids("we saw RepositoryNotFoundException) once") == []


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
