"""Every command's access rule (bot/domain/access.py), channels, rates and the user directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.adapters.slack_directory import SlackDirectory, StaticDirectory
from bot.config_catalog import Catalog
from bot.domain.access import (
    Access,
    Action,
    Audience,
    ChannelRule,
    Limit,
    RateLimiter,
)
from bot.domain.errors import NotAuthorized, RateLimited, WrongChannel
from tests.fakes import app_spec

ADMIN, ALICE, MALLORY = "U0ADMIN", "U0ALICE", "U0MALLORY"
DIRECTORY = StaticDirectory({"S0PLATFORM": frozenset({ADMIN}), "S0APPTEAM": frozenset({ALICE})})
APP = app_spec()  # pushers: S0APPTEAM


def access(**rules: Audience) -> Access:
    return Access(("S0PLATFORM",), DIRECTORY, {Action(k): v for k, v in rules.items()})


@pytest.mark.parametrize(
    ("action", "app", "allowed"),
    [
        (Action.PUSH, APP, {ADMIN, ALICE}),
        (Action.DIAGNOSE, APP, {ADMIN, ALICE}),
        (Action.DIAGNOSE_PLATFORM, None, {ADMIN}),
        (Action.REPORT, None, {ADMIN}),
        (Action.AUDIT, None, {ADMIN}),
        (Action.JOBS, APP, {ADMIN, ALICE}),
    ],
)
def test_default_rules_are_the_narrow_ones(action: Action, app: Any, allowed: set[str]) -> None:
    rules = access()
    assert {u for u in (ADMIN, ALICE, MALLORY) if rules.allows(u, action, app)} == allowed


def test_a_refusal_names_the_thing_and_the_next_step() -> None:
    with pytest.raises(NotAuthorized) as refused:
        access().require(MALLORY, Action.DIAGNOSE, APP)
    assert "diagnose `my-app`" in refused.value.message
    assert "pushers" in refused.value.next_step


def test_the_catalog_widens_or_narrows_a_rule() -> None:
    assert access(diagnose=Audience.EVERYONE).allows(MALLORY, Action.DIAGNOSE, APP)
    assert not access(diagnose=Audience.ADMINS).allows(ALICE, Action.DIAGNOSE, APP)
    assert access(report=Audience.PUSHERS).allows(ADMIN, Action.REPORT)


def test_push_can_never_be_opened_to_everyone() -> None:
    registry = {"account_id": "123456789012", "region": "eu-west-2"}
    with pytest.raises(ValidationError, match="can't be open to everyone"):
        Catalog.model_validate({"registry": registry, "slack": {"access": {"push": "everyone"}}})
    with pytest.raises(ValidationError):
        Catalog.model_validate({"registry": registry, "slack": {"access": {"diagnose": "all"}}})


def test_only_pushed_apps_are_listed_to_a_user() -> None:
    other = app_spec(name="secret-app", repository="secret-app", pushers=("S0OTHER",))
    rules = access()
    assert rules.visible_apps(ALICE, [APP, other]) == ["my-app"]
    assert rules.visible_apps(MALLORY, [APP, other]) == []
    assert rules.visible_apps(ADMIN, [APP, other]) == ["my-app", "secret-app"]


def test_commands_answer_only_in_the_catalogs_channels_by_default() -> None:
    registry = {"account_id": "123456789012", "region": "eu-west-2"}
    rule = Catalog.model_validate(
        {"registry": registry, "slack": {"channel": "C0PLATFORM"}}
    ).slack.channel_rule
    rule.check("C0PLATFORM")
    with pytest.raises(WrongChannel, match="not used in this channel"):
        rule.check("C0RANDOM")
    with pytest.raises(WrongChannel, match="not set up for any channel"):
        ChannelRule(()).check("C0PLATFORM")
    ChannelRule((), restricted=False).check("C0ANYWHERE")


def test_the_rate_limit_counts_per_user_and_action_and_says_when() -> None:
    now = [0.0]
    limiter = RateLimiter({Action.DIAGNOSE: Limit(2, 60)}, clock=lambda: now[0])
    limiter.take(ALICE, Action.DIAGNOSE)
    limiter.take(ALICE, Action.DIAGNOSE)
    limiter.take(MALLORY, Action.DIAGNOSE)
    limiter.take(ALICE, Action.REPORT)  # no limit for it here
    with pytest.raises(RateLimited, match="2 diagnose runs") as limited:
        limiter.take(ALICE, Action.DIAGNOSE)
    assert "1 min" in limited.value.next_step
    now[0] = 60.5
    limiter.take(ALICE, Action.DIAGNOSE)


class _Groups:
    """A WebClient's usergroups.users.list: answers, or fails like Slack does."""

    def __init__(self) -> None:
        self.fail = False
        self.calls = 0

    def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="usergroups.users.list",
                req_args={},
                data={"ok": False, "error": "fatal_error"},
                headers={},
                status_code=500,
            )
            raise SlackApiError("fatal_error", response)  # type: ignore[no-untyped-call]
        return {"ok": True, "users": [ALICE]}


def test_a_failing_group_lookup_uses_its_answer_only_within_the_ttl_then_refuses() -> None:
    now = [0.0]
    groups = _Groups()
    directory = SlackDirectory(groups, clock=lambda: now[0])  # type: ignore[arg-type]
    assert directory.members("S0APPTEAM") == {ALICE}
    now[0] = 30.0
    assert directory.members("S0APPTEAM") == {ALICE} and groups.calls == 1  # fresh: no call
    groups.fail = True
    now[0] = 120.0
    assert directory.members("S0APPTEAM") == {ALICE}  # Slack failed; the answer is 2 min old
    now[0] = 301.0
    assert directory.members("S0APPTEAM") == frozenset()  # too old: fail closed
    groups.fail = False
    assert directory.members("S0APPTEAM") == frozenset()  # Slack failed: left alone 10 s
    now[0] = 312.0
    assert directory.members("S0APPTEAM") == {ALICE}


def test_diagnose_and_report_are_authorized_and_rate_limited_before_anything_runs() -> None:
    from bot.domain.errors import UnknownApp
    from bot.services.diagnose import DiagnoseRequest, DiagnoseService
    from bot.services.reports import ReportRunner

    rules = access()
    limiter = RateLimiter({Action.DIAGNOSE: Limit(1, 60), Action.REPORT: Limit(1, 3600)})
    apps = {"my-app": APP}
    ran: list[object] = []
    service = DiagnoseService(
        None,  # type: ignore[arg-type]  # never reached: refused first
        apps.get,
        lambda: list(apps.values()),
        lambda *args: ran.append(args),
        rules,
        limiter,
        ThreadPoolExecutor(1),
        ChannelRule(("C0PLATFORM",)),
    )
    with pytest.raises(NotAuthorized):
        service.authorize(DiagnoseRequest("my-app"), MALLORY)
    with pytest.raises(NotAuthorized, match="diagnose the ecrbot platform"):
        service.authorize(DiagnoseRequest(None), ALICE)
    with pytest.raises(UnknownApp) as unknown:
        service.authorize(DiagnoseRequest("secret"), MALLORY)
    assert "my-app" not in str(unknown.value)
    assert service.authorize(DiagnoseRequest("my-app"), ALICE) is APP
    with pytest.raises(RateLimited):
        service.authorize(DiagnoseRequest("my-app"), ALICE)

    runner = ReportRunner(
        None,  # type: ignore[arg-type]
        lambda *_: None,
        rules,
        limiter,
        pool=ThreadPoolExecutor(1),
    )
    with pytest.raises(NotAuthorized, match="registry report"):
        runner.post("C0PLATFORM", ALICE)
    runner.authorize(ADMIN)
    with pytest.raises(RateLimited):
        runner.preview(lambda _: None, ADMIN)
    assert ran == []


def test_diagnose_goes_where_the_channel_rule_allows_else_to_the_askers_dm() -> None:
    from bot.domain.ports import Destination
    from bot.services.diagnose import DiagnoseService

    service = DiagnoseService(
        None,  # type: ignore[arg-type]
        lambda name: None,
        list,
        lambda *args: None,
        access(),
        RateLimiter({}),
        ThreadPoolExecutor(1),
        ChannelRule(("C0PLATFORM",)),
    )
    allowed = Destination("C0PLATFORM", "1.2", "https://hooks/x")
    assert service.destinations(ADMIN, allowed) == [allowed]
    assert service.destinations(ADMIN, Destination(None)) == [Destination(None)]
    general = Destination("C0GENERAL", "1.2", "https://hooks/x")
    dm, verdict = service.destinations(ADMIN, general)
    assert dm == Destination(None, reply_url="https://hooks/x", to_user=ADMIN) and dm.private
    assert verdict == Destination("C0GENERAL", "1.2", "https://hooks/x", verdict_only=True)
    # A DM is only ever the asker's own, whoever the request named.
    assert service.destinations(ALICE, Destination(None, to_user=MALLORY)) == [
        Destination(None, to_user=ALICE)
    ]


def test_key_ids_are_masked_outside_a_dm() -> None:
    from bot.domain.checks.model import CheckResult, Report, Status, mask_key_id, masked

    assert mask_key_id("keys AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A") == (
        "keys AKIA…MPLE and ASIA…VV7A"
    )
    assert mask_key_id("AKIA alone, akiaiosfodnn7example") == "AKIA alone, akiaiosfodnn7example"
    fix = "aws iam update-access-key --access-key-id AKIAIOSFODNN7EXAMPLE --status Inactive"
    report = Report("app", "1 fails", (CheckResult("keys.long_lived", Status.FAIL, fix, fix),))
    assert "AKIAIOSFODNN7EXAMPLE" not in str(masked(report))
