"""trust.bot_roles: each registry role the bot assumes for a person must trust the bot's own
principal with sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession; the fix is the
statement to paste."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.domain.checks.checklist import check_app
from bot.domain.checks.model import AssumedRole, Fact, Role, Status
from bot.domain.iam.policy import Unreadable, parse_policy
from bot.domain.iam.role_trust import principal_arn, request_context, trust_verdicts
from tests.unit.test_checks import ACCOUNT, by_id, healthy

BOT = f"arn:aws:iam::{ACCOUNT}:role/ops/ecrbot"  # the bot's role has a path
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/i-0abc"
PROD_ROLE = "arn:aws:iam::210987654321:role/ecrbot-promote"
ALL = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], principal: str = BOT, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, **more}


def verdicts(document: dict[str, Any]) -> dict[str, bool | None]:
    principal = principal_arn(SESSION)
    context = request_context(principal, ("ecrbot-app", "ecrbot-job"))
    return {v.action: v.allowed for v in trust_verdicts(parse_policy(document), principal, context)}


def test_a_session_is_named_by_its_role_whatever_the_path() -> None:
    assert principal_arn(SESSION) == f"arn:aws:iam::{ACCOUNT}:role/ecrbot"
    assert all(verdicts(trust(allow(ALL))).values())


def test_assume_role_alone_refuses_source_identity_and_tags() -> None:
    found = verdicts(trust(allow(["sts:AssumeRole"])))
    assert found == dict(zip(ALL, [True, False, False], strict=True))


def test_a_deny_decides_and_an_unknown_condition_is_said() -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"}
    assert verdicts(trust(allow(ALL), deny))["sts:TagSession"] is False
    guarded = allow(ALL, Condition={"StringLike": {"sts:SourceIdentity": "U*"}})
    assert set(verdicts(trust(guarded)).values()) == {None}
    tagged = allow(ALL, Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["ecrbot-app"]}})
    assert verdicts(trust(tagged))["sts:TagSession"] is False  # ecrbot-job is passed too


def test_the_account_as_principal_allows_through_the_bots_own_policy() -> None:
    assert all(verdicts(trust(allow(ALL, principal=f"arn:aws:iam::{ACCOUNT}:root"))).values())
    assert not any(verdicts(trust(allow(ALL, principal="arn:aws:iam::999999999999:root"))).values())


def facts_with(role: Fact[Role | None], principal: str = SESSION) -> Any:
    assumed = AssumedRole(PROD_ROLE, ("prod",), role)
    return healthy(assumed_roles=(assumed,), bot_principal=Fact(principal))


def test_the_check_fails_with_the_statement_to_paste() -> None:
    role = Role(PROD_ROLE, parse_policy(trust(allow(["sts:AssumeRole"]))), {})
    [result] = by_id(check_app(facts_with(Fact(role))).results, "trust.bot_roles")
    assert result.status is Status.FAIL and "`sts:SetSourceIdentity`" in result.summary
    pasted = json.loads(result.remediation.split("\n", 1)[1])
    assert pasted["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ecrbot"}
    assert pasted["Action"] == ALL


def test_the_check_passes_warns_and_fails_as_it_reads() -> None:
    good = Role(PROD_ROLE, parse_policy(trust(allow(ALL))), {})
    [passed] = by_id(check_app(facts_with(Fact(good))).results, "trust.bot_roles")
    assert passed.status is Status.PASS and "(prod)" in passed.summary
    unread = Fact[Role | None](error="it is in account 210987654321; ecrbot reads IAM in 1")
    [warned] = by_id(check_app(facts_with(unread)).results, "trust.bot_roles")
    assert warned.status is Status.WARN and "sts:TagSession" in warned.remediation
    [missing] = by_id(check_app(facts_with(Fact(None))).results, "trust.bot_roles")
    assert missing.status is Status.FAIL and "does not exist" in missing.summary
    broken = Role(PROD_ROLE, Unreadable("trust", "no Statement"), {})
    [bad] = by_id(check_app(facts_with(Fact(broken))).results, "trust.bot_roles")
    assert bad.status is Status.FAIL


def test_silent_without_roles_and_unknown_principal_is_said() -> None:
    assert by_id(check_app(healthy()).results, "trust.bot_roles") == []
    facts = replace(facts_with(Fact(None)), bot_principal=Fact[str](error="AccessDenied"))
    [result] = by_id(check_app(facts).results, "trust.bot_roles")
    assert result.status is Status.ERROR


def test_out_of_reach_the_check_takes_sts_own_answer() -> None:
    unread = Fact[Role | None](error="it is in account 210987654321; ecrbot reads IAM in 1")
    role = AssumedRole(PROD_ROLE, ("prod",), unread, Fact(f"{PROD_ROLE}/session"))
    facts = healthy(assumed_roles=(role,), bot_principal=Fact(SESSION))
    [passed] = by_id(check_app(facts).results, "trust.bot_roles")
    assert passed.status is Status.PASS and "STS let the bot assume" in passed.summary
    refused = replace(role, probe=Fact[str](error="AccessDenied: not authorized: sts:TagSession"))
    facts = healthy(assumed_roles=(refused,), bot_principal=Fact(SESSION))
    [failed] = by_id(check_app(facts).results, "trust.bot_roles")
    assert failed.status is Status.FAIL and "sts:TagSession" in failed.summary
    assert '"sts:SetSourceIdentity"' in failed.remediation
