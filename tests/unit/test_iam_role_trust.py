"""What trust.bot_roles reads in a registry role's trust policy (`bot.domain.iam.role_trust`):
the caller's ARN as a trust policy names it, the request STS judges, each action's verdict and
the statement that decided it, and the statement to paste, word for word (issue #17's
mutation floor)."""

from __future__ import annotations

from typing import Any

from bot.domain.iam.policy import parse_policy
from bot.domain.iam.role_trust import (
    ACTIONS,
    Verdict,
    principal_arn,
    request_context,
    trust_statement,
    trust_verdicts,
)

ACCOUNT = "123456789012"
BOT = f"arn:aws:iam::{ACCOUNT}:role/ecrbot"
ASSUME, SOURCE, TAG = ACTIONS
TAGS = ("ecrbot-app", "ecrbot-job")
NOBODY = "no statement of the trust policy allows it"
FIRST = "allowed by statement 1"
VARIABLE_ARN = "arn:aws:iam::${aws:PrincipalAccount}:role/ecrbot"
THROUGH = " (it names the account: the bot's own policy must allow it too)"


def st(effect: str = "Allow", principal: Any = None, **more: Any) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": principal or {"AWS": BOT},
        "Action": list(ACTIONS),
        **more,
    }


def judge(*statements: dict[str, Any], version: str = "2012-10-17", caller: str = BOT) -> Any:
    policy = parse_policy({"Version": version, "Statement": list(statements)})
    return trust_verdicts(policy, caller, request_context(caller, TAGS))


def each(allowed: bool | None, why: str) -> tuple[Verdict, ...]:
    return tuple(Verdict(action, allowed, why) for action in ACTIONS)


def test_the_actions_asked_are_sts_own_names() -> None:
    assert ACTIONS == ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")


def test_a_session_is_named_by_its_role_and_any_other_caller_as_it_is() -> None:
    session = f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/ecrbot/i-0abc"
    assert principal_arn(session) == f"arn:aws-cn:iam::{ACCOUNT}:role/ecrbot"
    user = f"arn:aws:iam::{ACCOUNT}:user/ops"
    assert principal_arn(user) == user
    assert principal_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/") == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/"  # no session name: not a session's ARN
    )
    assert principal_arn(f"arn:aws:sts::{ACCOUNT}1:assumed-role/e/s") == (
        f"arn:aws:sts::{ACCOUNT}1:assumed-role/e/s"  # 13 digits: no account
    )


def test_the_request_names_the_caller_its_account_and_the_tag_keys() -> None:
    assert request_context(BOT, TAGS) == {
        "aws:PrincipalArn": BOT,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:TagKeys": TAGS,
        "sts:TransitiveTagKeys": TAGS,
    }
    # Five colons make an ARN; fewer name no account.
    assert request_context("a:b:c:d:e", [])["aws:PrincipalAccount"] == ""
    assert request_context("a:b:c:d:e:", ["k"])["aws:PrincipalAccount"] == "e"
    assert request_context("a:b:c:d:e:", ["k"])["aws:TagKeys"] == ("k",)


def test_the_deciding_statement_is_named_by_sid_or_place() -> None:
    assert judge(st(Sid="Bot")) == each(True, "allowed by statement 'Bot'")
    assert judge(st()) == each(True, FIRST)
    assert judge() == each(False, NOBODY)


def test_a_statement_for_someone_else_or_another_action_is_passed_over() -> None:
    other = st(principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"})
    service = st(principal={"Service": "ec2.amazonaws.com"})
    assume = {"Effect": "Allow", "Principal": {"AWS": BOT}, "Action": ASSUME}
    verdicts = judge(other, service, assume, st(Sid="Last"))
    assert verdicts == (
        Verdict(ASSUME, True, "allowed by statement 3"),
        Verdict(SOURCE, True, "allowed by statement 'Last'"),
        Verdict(TAG, True, "allowed by statement 'Last'"),
    )
    not_principal = {"Effect": "Allow", "NotPrincipal": {"AWS": BOT}, "Action": list(ACTIONS)}
    assert judge(not_principal) == each(False, NOBODY)


def test_everyone_and_a_wildcard_name_the_bot() -> None:
    assert judge(st(principal="*")) == each(True, FIRST)
    assert judge(st(principal={"AWS": "*"})) == each(True, FIRST)


def test_the_account_names_the_bot_through_its_own_policy() -> None:
    for account in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        assert judge(st(principal={"AWS": account})) == each(True, FIRST + THROUGH)
    assert judge(st(principal={"AWS": "arn:aws:iam::999999999999:root"})) == each(False, NOBODY)
    # A caller with no account (not an ARN) is not in an account the policy names.
    assert judge(st(principal={"AWS": ACCOUNT}), caller="ecrbot") == each(False, NOBODY)


def test_a_role_is_named_with_its_path_but_only_that_role() -> None:
    with_path = f"arn:aws:iam::{ACCOUNT}:role/ops/ecrbot"
    assert judge(st(principal={"AWS": with_path})) == each(True, FIRST)
    for other in (f"arn:aws:iam::{ACCOUNT}:role/ops/not-ecrbot", "arn:aws:iam::1:role/ops/ecrbot"):
        assert judge(st(principal={"AWS": other})) == each(False, NOBODY)
    # A user is named by its ARN exactly: its name is no role's.
    user = f"arn:aws:iam::{ACCOUNT}:user/ecrbot"
    assert judge(st(principal={"AWS": user}), caller=user) == each(True, FIRST)
    odd = f"arn:aws:iam::{ACCOUNT}:user/ecrbot:role/x/"
    assert judge(st(principal={"AWS": odd}), caller=user) == each(False, NOBODY)


def test_the_first_role_marker_splits_the_callers_arn() -> None:
    # Role names hold no ":role/", but the rule is the first one: prefix, then the name.
    caller = f"arn:aws:iam::{ACCOUNT}:role/a:role/b"
    listed = f"arn:aws:iam::{ACCOUNT}:role/path/a:role/b"
    assert judge(st(principal={"AWS": listed}), caller=caller) == each(True, FIRST)


def test_an_explicit_deny_decides_wherever_it_is() -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": BOT}, "Action": TAG, "Sid": "NoTags"}
    assert judge(st(), deny)[2] == Verdict(TAG, False, "explicitly denied by statement 'NoTags'")
    assert judge(deny, st())[2] == Verdict(TAG, False, "explicitly denied by statement 'NoTags'")
    assert judge(st(), deny)[:2] == each(True, FIRST)[:2]


def test_a_deny_under_an_unknown_condition_does_not_decide() -> None:
    unknown = {"StringEquals": {"sts:SourceIdentity": "U1"}}
    deny = {"Effect": "Deny", "Principal": {"AWS": BOT}, "Action": TAG, "Condition": unknown}
    assert judge(deny, st())[2] == Verdict(TAG, True, "allowed by statement 2")
    assert judge(deny)[2] == Verdict(TAG, False, NOBODY)


def test_a_condition_that_fails_passes_the_statement_over() -> None:
    tagged = {"ForAllValues:StringEquals": {"aws:TagKeys": ["ecrbot-app"]}}
    assert judge(st(Condition=tagged)) == each(False, NOBODY)
    held = {"ForAllValues:StringEquals": {"aws:TagKeys": list(TAGS)}}
    assert judge(st(Condition=held)) == each(True, FIRST)
    deny = {"Effect": "Deny", "Principal": {"AWS": BOT}, "Action": "*", "Condition": tagged}
    assert judge(deny, st()) == each(True, "allowed by statement 2")


def test_an_unknown_condition_is_said_and_a_sure_allow_wins_over_it() -> None:
    unknown = {"StringEquals": {"sts:SourceIdentity": "U1"}}
    assert judge(st(Condition=unknown)) == each(None, FIRST)
    sure, unsure = st(Sid="Sure"), st(Sid="Unsure", Condition=unknown)
    assert judge(unsure, sure) == each(True, "allowed by statement 'Sure'")
    assert judge(sure, unsure) == each(True, "allowed by statement 'Sure'")
    assert judge(unsure, st(Sid="Again", Condition=unknown)) == each(
        None, "allowed by statement 'Unsure'"
    )
    assert judge(sure, st(Sid="Twice")) == each(True, "allowed by statement 'Sure'")
    through = st(Sid="Account", principal={"AWS": ACCOUNT})
    assert judge(unsure, through) == each(True, f"allowed by statement 'Account'{THROUGH}")


def test_policy_variables_only_in_a_2012_document() -> None:
    mine = {"StringEquals": {"aws:PrincipalArn": VARIABLE_ARN}}
    assert judge(st(Condition=mine)) == each(True, FIRST)
    assert judge(st(Condition=mine), version="2008-10-17") == each(False, NOBODY)


def test_the_statement_to_paste() -> None:
    assert trust_statement(BOT) == (
        "{\n"
        '  "Sid": "EcrbotAssumesForAPerson",\n'
        '  "Effect": "Allow",\n'
        '  "Principal": {\n'
        f'    "AWS": "{BOT}"\n'
        "  },\n"
        '  "Action": [\n'
        '    "sts:AssumeRole",\n'
        '    "sts:SetSourceIdentity",\n'
        '    "sts:TagSession"\n'
        "  ]\n"
        "}"
    )
