"""IAM policy documents read the way IAM reads them (`bot.domain.iam.policy`): every element
normalised, every document IAM would refuse named with the reason a user sees in `/ecr diagnose`
("... was not read (REASON)"), and the actions and resources a statement covers (issue #17's
mutation floor)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from bot.domain.iam.conditions import PolicyError
from bot.domain.iam.policy import (
    Policy,
    Statement,
    Unreadable,
    capital,
    covers_action,
    covers_resource,
    parse_policy,
    read_policies,
    statement_label,
)

SUB = "token.actions.githubusercontent.com:sub"


def test_every_element_is_normalised() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": 7,
            "Effect": "Deny",
            "Principal": {"AWS": ["a", "b"], "Federated": "f"},
            "NotAction": "s3:*",
            "Resource": ["r1", "r2"],
            "Condition": {"Null": {"k": True}, "NumericLessThan": {"n": [1, 2.5, False, "3"]}},
        },
    }
    assert parse_policy(document) == Policy(
        (
            Statement(
                sid="7",
                effect="Deny",
                principal={"AWS": ("a", "b"), "Federated": ("f",)},
                actions=(),
                not_actions=("s3:*",),
                resources=("r1", "r2"),
                not_resources=(),
                conditions={
                    "Null": {"k": ("true",)},
                    "NumericLessThan": {"n": ("1", "2.5", "false", "3")},
                },
                not_principal={},
                variables=True,
            ),
        )
    )
    bare = parse_policy(
        {
            "Statement": [
                {
                    "Sid": "",
                    "Effect": "Allow",
                    "NotPrincipal": "*",
                    "Action": "a",
                    "NotResource": "r",
                }
            ]
        }
    ).statements[0]
    assert bare == Statement(
        sid=None,
        effect="Allow",
        principal={},
        actions=("a",),
        not_actions=(),
        resources=(),
        not_resources=("r",),
        conditions={},
        not_principal={"*": ("*",)},
        variables=False,
    )
    assert parse_policy({"Version": "2008-10-17", "Statement": []}) == Policy(())


def test_a_document_may_be_a_json_or_url_encoded_string() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "a%3Ab"}]}
    text = json.dumps(document)
    expected = parse_policy(document)
    assert expected.statements[0].actions == ("a%3Ab",)
    assert parse_policy(f"  {text}\n") == expected
    encoded = quote(text.replace("%3A", ":"))
    decoded = parse_policy(encoded)
    assert decoded.statements[0].actions == ("a:b",) and decoded.statements[0].variables
    assert parse_policy(f" {quote(' ')}{encoded}{quote(' ')} ").statements[0].actions == ("a:b",)


def refusal(document: Any) -> str:
    with pytest.raises(PolicyError) as refused:
        parse_policy(document)
    return str(refused.value)


def one(**statement: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": "a", **statement}]}


CONDITION_SHAPE = 'statement 1: Condition must look like {"StringEquals": {"key": "v"}}'
REFUSED = [
    ("[]", "policy document must be a JSON object with a Statement"),
    ([], "policy document must be a JSON object with a Statement"),
    ({}, "policy document has no Statement"),
    ({"Statement": "x"}, "Statement must be an object or a list of objects"),
    (
        {"Version": "2013-01-01", "Statement": []},
        'Version must be "2012-10-17" or "2008-10-17", not \'2013-01-01\'',
    ),
    ({"Statement": [{"Effect": "Allow", "Action": "a"}, "x"]}, "statement 2 must be an object"),
    ({"Statement": [{"Action": "a"}]}, 'statement 1: Effect must be "Allow" or "Deny", not None'),
    (one(Effect="allow"), 'statement 1: Effect must be "Allow" or "Deny", not \'allow\''),
    (one(NotAction="b"), "statement 1 has both Action and NotAction; use one"),
    (one(Resource="r", NotResource="s"), "statement 1 has both Resource and NotResource; use one"),
    (
        one(Principal="*", NotPrincipal="*"),
        "statement 1 has both Principal and NotPrincipal; use one",
    ),
    ({"Statement": {"Effect": "Deny"}}, "statement 1 has neither Action nor NotAction"),
    (one(Condition="x"), CONDITION_SHAPE),
    (one(Condition={"StringEquals": "x"}), CONDITION_SHAPE),
    (one(Condition={"Sorta": {"k": "v"}}), "unknown condition operator 'Sorta'"),
    (
        one(Condition={"StringEquals": {"https://x.io:sub": "x"}}),
        "statement 1: StringEquals: condition key 'https://x.io:sub' is not a valid key (name the "
        "provider without its scheme: 'x.io:sub')",
    ),
    (
        one(Condition={"StringEquals": {f"https://{SUB}": "x"}}),
        "statement 1: StringEquals: condition key 'https://toke...ntent.com:sub' is not a valid "
        f"key (name the provider without its scheme: '{SUB}')",
    ),
    (
        one(Condition={"StringEquals": {"https://x://y": "x"}}),
        "statement 1: StringEquals: condition key 'https://x://y' is not a valid key (name the "
        "provider without its scheme: 'x://y')",
    ),
    (
        one(Condition={"StringEquals": {"": "x"}}),
        "statement 1: StringEquals: condition key '' is not a valid key",
    ),
    (
        one(Condition={"StringEquals": {"  ": "x"}}),
        "statement 1: StringEquals: condition key '  ' is not a valid key",
    ),
    (
        one(Condition={"StringEquals": {"k ": "x"}}),
        "statement 1: StringEquals: condition key 'k ' is not a valid key",
    ),
    (
        one(Condition={"StringEquals": {"k": {"v": 1}}}),
        "statement 1: StringEquals k must be a string or a list of strings, not {'v': 1}",
    ),
    (one(Action=[None]), "statement 1: Action must be a string or a list of strings, not None"),
    (
        one(Resource=[["r"]]),
        "statement 1: Resource must be a string or a list of strings, not ['r']",
    ),
    (
        {"Statement": {"Effect": "Allow", "NotAction": {}}},
        "statement 1: NotAction must be a string or a list of strings, not {}",
    ),
    (
        one(NotResource=[{}]),
        "statement 1: NotResource must be a string or a list of strings, not {}",
    ),
    (
        one(Principal="arn"),
        'statement 1: Principal must be "*" or an object such as {"Federated": "arn..."}',
    ),
    (
        one(NotPrincipal=["*"]),
        'statement 1: NotPrincipal must be "*" or an object such as {"Federated": "arn..."}',
    ),
    (
        one(Principal={"AWS": [{}]}),
        "statement 1: Principal.AWS must be a string or a list of strings, not {}",
    ),
]


@pytest.mark.parametrize(("document", "reason"), REFUSED)
def test_a_document_iam_refuses_is_refused_with_its_reason(document: Any, reason: str) -> None:
    assert refusal(document) == reason


@pytest.mark.parametrize("text", ["{", "not json", "[" * 100_000])
def test_text_that_is_not_json_is_refused(text: str) -> None:
    assert refusal(text).startswith("policy document is not valid JSON: ")


def test_one_unreadable_document_is_named_and_the_others_read() -> None:
    policies, unreadable = read_policies(
        {"a": {"Statement": []}, "b": "{", "c": one(), "d": {"Statement": "x"}}
    )
    assert list(policies) == ["a", "c"] and policies["c"] == parse_policy(one())
    assert unreadable[1] == Unreadable("d", "Statement must be an object or a list of objects")
    assert [item.name for item in unreadable] == ["b", "d"]


def test_labels() -> None:
    (named, anonymous) = parse_policy(
        {"Statement": [{"Sid": "pushIt", "Effect": "Allow", "Action": "a"}, one()["Statement"][0]]}
    ).statements
    assert (statement_label(named, 0), statement_label(anonymous, 1)) == (
        "statement 'pushIt'",
        "statement 2",
    )
    assert (capital("statement 'pushIt'"), capital("s"), capital("")) == (
        "Statement 'pushIt'",
        "S",
        "",
    )


def statement(version: str | None = "2012-10-17", **raw: Any) -> Statement:
    document: dict[str, Any] = {"Statement": {"Effect": "Allow", **raw}}
    document.update({"Version": version} if version else {})
    return parse_policy(document).statements[0]


@pytest.mark.parametrize(
    ("raw", "action", "covered"),
    [
        ({"Action": "ecr:Put*"}, "ECR:putImage", True),
        ({"Action": ["s3:*", "ecr:PutImage"]}, "ecr:PutImage", True),
        ({"Action": "ecr:PutImage"}, "ecr:PutImages", False),
        ({"NotAction": "ecr:Put*"}, "ecr:PutImage", False),
        ({"NotAction": ["s3:*", "ECR:PUTIMAGE"]}, "ecr:PutImage", False),
        ({"NotAction": "s3:*"}, "ecr:PutImage", True),
    ],
)
def test_covered_actions(raw: dict[str, Any], action: str, covered: bool) -> None:
    assert covers_action(statement(**raw), action) is covered


REPO = "arn:aws:ecr:eu-west-2:123:repository/bob"
VAR = "arn:*:repository/${aws:username}"


@pytest.mark.parametrize(
    ("raw", "context", "covered"),
    [
        ({"Action": "a"}, None, True),
        ({"Action": "a", "Resource": ["x", "arn:aws:ecr:*:123:repository/*"]}, None, True),
        ({"Action": "a", "Resource": "arn:aws:ecr:*:123:repository/bo"}, None, False),
        ({"Action": "a", "Resource": "ARN:aws:ecr:*:123:repository/bob"}, None, False),
        ({"Action": "a", "NotResource": "arn:aws:ecr:*:*:repository/*"}, None, False),
        ({"Action": "a", "NotResource": ["x", "y"]}, None, True),
        ({"Action": "a", "Resource": VAR}, {"aws:username": "bob"}, True),
        ({"Action": "a", "Resource": VAR}, {"aws:username": "al"}, False),
        ({"Action": "a", "Resource": VAR}, None, False),
        ({"Action": "a", "NotResource": "arn:*/${aws:username}"}, None, True),
        ({"Action": "a", "NotResource": "arn:*/${aws:username}"}, {"aws:username": "bob"}, False),
        # A substituted value is text, not a pattern: a user named "*" is not a wildcard.
        ({"Action": "a", "Resource": VAR}, {"aws:username": "*"}, False),
        ({"Action": "a", "Resource": "arn:*:repository/${aws:username, 'bob'}"}, {}, True),
    ],
)
def test_covered_resources(
    raw: dict[str, Any], context: dict[str, str] | None, covered: bool
) -> None:
    assert covers_resource(statement(**raw), REPO, context) is covered


def test_a_2008_policy_reads_a_variable_as_its_text() -> None:
    old = statement(None, Action="a", Resource="arn:*:repository/${aws:username}")
    assert not covers_resource(old, REPO, {"aws:username": "bob"})
    assert covers_resource(old, "arn:x:repository/${aws:username}", {"aws:username": "bob"})
    star = statement("2008-10-17", Action="a", Resource="r${*}")
    assert covers_resource(star, "r${anything}") and not covers_resource(star, "r*")
