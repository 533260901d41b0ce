"""Each IAM condition operator, evaluated the way IAM does (`bot.domain.iam.conditions`), at its
boundaries: equal values for the ordered operators, a colon for ArnLike, case for Bool, an empty
request for the set operators, a wildcard at each end for StringLike. IAM User Guide, "IAM JSON
policy elements: Condition operators" (reference_policies_elements_condition_operators.html).
"""

from __future__ import annotations

import time

import pytest

from bot.domain.iam.conditions import (
    PolicyError,
    condition_holds,
    conditions_match,
    conditions_state,
    failing_conditions,
    has_wildcard,
    parse_operator,
    required_values,
    wildcard_match,
)

HOLDS = [
    # Numbers, at and around the boundary.
    ("NumericEquals", "5", "5.0", True),
    ("NumericEquals", "5", "6", False),
    ("NumericNotEquals", "5", "6", True),
    ("NumericNotEquals", "5", "5", False),
    ("NumericLessThan", "5", "4", True),
    ("NumericLessThan", "5", "5", False),
    ("NumericLessThanEquals", "5", "5", True),
    ("NumericLessThanEquals", "5", "6", False),
    ("NumericGreaterThan", "5", "6", True),
    ("NumericGreaterThan", "5", "5", False),
    ("NumericGreaterThanEquals", "5", "5", True),
    ("NumericGreaterThanEquals", "5", "4", False),
    ("NumericEquals", "five", "5", False),
    ("NumericEquals", "5", "five", False),
    # Dates: ISO 8601 with Z, with an offset, naive (UTC), or epoch seconds.
    ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", False),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "2026-01-01T00:30:00+01:00", False),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "2026-01-01T01:30:00+01:00", True),
    ("DateEquals", "2026-01-01T00:00:00", "2026-01-01T00:00:00Z", True),
    ("DateEquals", "1767225600", "2026-01-01T00:00:00Z", True),
    ("DateEquals", "soon", "2026-01-01T00:00:00Z", False),
    # Strings.
    ("StringEquals", "a", "a", True),
    ("StringEquals", "a", "A", False),
    ("StringNotEquals", "a", "A", True),
    ("StringEqualsIgnoreCase", "straße", "STRASSE", True),
    ("StringNotEqualsIgnoreCase", "abc", "ABC", False),
    ("StringLike", "a*c", "abbc", True),
    ("StringLike", "a*c", "abbd", False),
    ("StringNotLike", "a*", "ba", True),
    # ARNs: a wildcard never crosses a colon before the resource part.
    ("ArnLike", "arn:aws:iam::*:role/ci/*", "arn:aws:iam::123:role/ci/a/b", True),
    ("ArnLike", "arn:aws:iam::*", "arn:aws:iam::123:role/x", False),
    ("ArnLike", "arn:aws:*:role/x", "arn:aws:iam::123:role/x", False),
    ("ArnEquals", "arn:aws:iam::123:role/*", "arn:aws:iam::123:role/x:y", True),
    ("ArnLike", "arn:aws:iam::123:role/x:*", "arn:aws:iam::123:role/x:y", True),
    ("ArnLike", "arn:aws:iam::123:role/x:y", "arn:aws:iam::123:role/x:y", True),
    ("ArnNotLike", "arn:aws:iam::123:role/*", "arn:aws:iam::456:role/x", True),
    ("ArnNotEquals", "arn:aws:iam::123:role/*", "arn:aws:iam::123:role/x", False),
    # Addresses.
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.1/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.0.0.1", False),
    ("IpAddress", "10.0.0.0/8", "not an address", False),
    ("NotIpAddress", "10.0.0.0/8", "11.0.0.1", True),
    ("NotIpAddress", "bad", "11.0.0.1", True),
    # Booleans and binaries.
    ("Bool", "true", "TRUE", True),
    ("Bool", "true", "false", False),
    ("BinaryEquals", "QUJD", "QUJD", True),
    ("BinaryEquals", "QUJD", "qujd", False),
]


@pytest.mark.parametrize(("operator", "policy", "request_value", "holds"), HOLDS)
def test_an_operator_compares_the_policy_value_with_the_request_value(
    operator: str, policy: str, request_value: str, holds: bool
) -> None:
    assert condition_holds(operator, "k", [policy], {"k": request_value}) is holds


MISSING = [
    ("StringEquals", False),
    ("StringNotEquals", True),
    ("StringEqualsIfExists", True),
    ("stringequalsifexists", True),
    ("ForAllValues:StringEquals", True),
    ("ForAnyValue:StringEquals", False),
    ("ForAnyValue:StringNotEquals", False),
    ("Null", True),
    ("ForAllValues:Null", True),
    ("ForAnyValue:Null", False),
]


@pytest.mark.parametrize(("operator", "holds"), MISSING)
@pytest.mark.parametrize("request_value", [None, ()])
def test_an_operator_over_a_key_the_request_does_not_carry(
    operator: str, holds: bool, request_value: tuple[str, ...] | None
) -> None:
    context = {} if request_value is None else {"k": request_value}
    assert condition_holds(operator, "k", ["true"], context) is holds


SETS = [
    ("ForAnyValue:StringEquals", ["a"], ("b", "a"), True),
    ("ForAnyValue:StringEquals", ["a"], ("b", "c"), False),
    ("ForAllValues:StringEquals", ["a", "b"], ("b", "a"), True),
    ("ForAllValues:StringEquals", ["a"], ("b", "a"), False),
    ("StringEquals", ["a"], ("a", "b"), False),
    ("StringEquals", ["a", "b"], ("a", "b"), True),
    ("ForAnyValue:StringNotEquals", ["a"], ("a", "b"), True),
    ("ForAllValues:StringNotEquals", ["a"], ("a", "b"), False),
    ("Null", ["false"], ("a",), True),
    ("Null", ["true"], ("a",), False),
    ("Null", ["true", "false"], ("a",), True),
    ("ForAnyValue:Null", ["false"], ("a",), True),
    ("ForAllValues:Null", ["true"], ("a",), False),
]


@pytest.mark.parametrize(("operator", "values", "present", "holds"), SETS)
def test_set_operators_over_several_values(
    operator: str, values: list[str], present: tuple[str, ...], holds: bool
) -> None:
    assert condition_holds(operator, "K", values, {"k": present}) is holds


def test_a_lone_string_is_one_value_not_its_characters() -> None:
    assert condition_holds("StringEquals", "k", "ab", {"k": "ab"})
    assert not condition_holds("StringEquals", "k", "ab", {"k": "a"})


def test_variables_are_substituted_only_in_2012_policies() -> None:
    context = {"k": "${aws:username}", "aws:username": "bob"}
    assert condition_holds("StringEquals", "k", ["${aws:username}"], context, variables=False)
    assert not condition_holds("StringEquals", "k", ["${aws:username}"], context)
    assert condition_holds("StringEquals", "k", ["bob"], {"k": "bob", "aws:username": "x"})
    assert not condition_holds("StringEquals", "k", ["${aws:nobody}"], {"k": ""})
    # A substituted value compared as text keeps its star.
    assert condition_holds(
        "StringEquals", "k", ["${aws:username}"], {"k": "a*", "aws:username": "a*"}
    )
    # Without variables a pattern's `${*}` is a dollar, braces and a wildcard, not a star.
    assert condition_holds("StringLike", "k", ["a${*}"], {"k": "a${x}"}, variables=False)
    assert not condition_holds("StringLike", "k", ["a${*}"], {"k": "a*"}, variables=False)
    assert condition_holds("StringLike", "k", ["a${*}"], {"k": "a*"})
    # A number never holds a variable: the text is compared as it is.
    assert not condition_holds("NumericEquals", "k", ["${aws:n}"], {"k": "1", "aws:n": "1"})


WILDCARDS = [
    ("*", "", True),
    ("a*", "a", True),
    ("*a", "ba", True),
    ("*a", "ab", False),
    ("a*b*c", "abc", True),
    ("a*b*c", "acb", False),
    ("a*bc*bc", "abcbc", True),
    ("a*bc*bc", "abc", False),
    ("ab*ab*x", "abx", False),  # a piece is searched for after the one before it
    ("a*bc*c", "abc", False),  # and the tail after that piece's end
    ("a*bc*c", "abcc", True),
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("a?c*", "abcd", True),
    ("*?", "", False),
    ("ab", "abc", False),
    ("abc", "ab", False),
    ("a${*}", "a*", True),
    ("a${*}", "ab", False),
    ("a${?}${$}$", "a?$$", True),
    ("x*\ny", "x\n\ny", True),
]


@pytest.mark.parametrize(("pattern", "value", "matches"), WILDCARDS)
def test_wildcards(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


def test_wildcards_may_ignore_case_and_know_their_escapes() -> None:
    assert wildcard_match("A*C", "abc", ignore_case=True)
    assert not wildcard_match("A*C", "abc")
    assert [has_wildcard(p) for p in ("a*", "a?", "a${*}", "a${?}", "a$b", "")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("operator", "parsed"),
    [
        ("StringEquals", (None, "StringEquals", False)),
        (" stringequals ", (None, "StringEquals", False)),
        ("StringLikeIfExists", (None, "StringLike", True)),
        ("forallvalues:StringLike", ("ForAllValues", "StringLike", False)),
        ("ForAnyValue:ArnLikeIfExists", ("ForAnyValue", "ArnLike", True)),
        ("Null", (None, "Null", False)),
        ("DateGreaterThanEquals", (None, "DateGreaterThanEquals", False)),
    ],
)
def test_an_operator_is_split_into_its_parts(
    operator: str, parsed: tuple[str | None, str, bool]
) -> None:
    assert parse_operator(operator) == parsed


@pytest.mark.parametrize(
    ("operator", "message"),
    [
        ("Maybe:StringEquals", "unknown condition set operator 'Maybe' in 'Maybe:StringEquals'"),
        ("StringSorta", "unknown condition operator 'StringSorta'"),
        ("NullIfExists", "unknown condition operator 'NullIfExists' (IfExists can follow any "
         "operator except Null)"),
        ("ForAnyValueStringLike", "unknown condition operator 'ForAnyValueStringLike' (a set "
         "operator is joined to its operator by a colon: ForAnyValue:StringLike)"),
        ("forallvaluesNull", "unknown condition operator 'forallvaluesNull' (a set operator is "
         "joined to its operator by a colon: ForAllValues:Null)"),
        ("ForAllValues:Sorta", "unknown condition operator 'ForAllValues:Sorta'"),
        ("ForAnyValue:String:Like", "unknown condition operator 'ForAnyValue:String:Like'"),
    ],
)  # fmt: skip
def test_an_operator_iam_refuses_is_named(operator: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_operator(operator)
    assert str(refused.value) == message


def test_a_partly_known_request_and_the_entries_that_fail() -> None:
    conditions = {
        "StringEquals": {"a": ["1"], "b": ["2"]},
        "StringLike": {"c": ["${aws:x}"]},
    }
    assert conditions_state(conditions, {"a": "1", "b": "2", "c": "v", "aws:x": "v"}) is True
    assert conditions_state(conditions, {"a": "1", "b": "2", "c": "v"}) is None
    assert conditions_state(conditions, {"a": "1", "b": "2", "c": "${aws:x}"}, variables=False)
    assert conditions_state(conditions, {"a": "1", "b": "3"}) is False
    assert conditions_state(conditions, {"b": "3"}) is False
    assert conditions_state({"StringEquals": {"a": "1"}}, {"a": "1"}) is True
    # A lone string value is one value, whose variables are needed too.
    assert conditions_state({"StringEquals": {"a": "${aws:x}"}}, {"a": "1"}) is None
    assert failing_conditions(conditions, {"a": "1", "b": "3", "c": "v", "aws:x": "w"}) == [
        ("StringEquals", "b", ("2",)),
        ("StringLike", "c", ("${aws:x}",)),
    ]
    assert failing_conditions(conditions, {"a": "1", "b": "2", "c": "v", "aws:x": "v"}) == []
    assert failing_conditions(conditions, {"c": "${aws:x}"}, variables=False) == [
        ("StringEquals", "a", ("1",)),
        ("StringEquals", "b", ("2",)),
    ]


def test_the_values_a_positive_string_operator_requires() -> None:
    conditions = {
        "StringEquals": {"Sub": ["a"], "aud": ["x"]},
        "stringlike": {"sub": ["b*", "c"]},
        "StringEqualsIgnoreCase": {"SUB": ["D"]},
        "StringNotEquals": {"sub": ["e"]},
        "ForAnyValue:StringLike": {"sub": ["f"]},
    }
    assert required_values(conditions, "sub") == [
        (False, "a"),
        (True, "b*"),
        (True, "c"),
        (False, "D"),
        (True, "f"),
    ]


def test_a_condition_block_matches_when_every_entry_holds() -> None:
    block = {"StringEquals": {"a": ["1"]}, "StringLike": {"b": ["${aws:x}"]}}
    assert conditions_match(block, {"a": "1", "b": "v", "aws:x": "v"})
    assert not conditions_match(block, {"a": "2", "b": "v", "aws:x": "v"})
    assert not conditions_match(block, {"a": "1", "b": "${aws:x}", "aws:x": "v"})
    assert conditions_match(block, {"a": "1", "b": "${aws:x}", "aws:x": "v"}, variables=False)
    assert conditions_match({}, {})


def test_a_date_without_a_zone_is_utc_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        assert condition_holds(
            "DateEquals", "k", ["2026-01-01T00:00:00"], {"k": "2026-01-01T00:00:00Z"}
        )
        assert condition_holds("DateEquals", "k", ["1767225600"], {"k": "2026-01-01T00:00:00"})
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("operator", ["NumericLessThan", "NumericEquals", "DateGreaterThan"])
@pytest.mark.parametrize(("policy", "request_value"), [("five", "5"), ("5", "five")])
def test_an_ordered_operator_never_holds_on_text_it_cannot_read(
    operator: str, policy: str, request_value: str
) -> None:
    assert condition_holds(operator, "k", [policy], {"k": request_value}) is False
