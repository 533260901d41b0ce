"""Every command's access rule (bot/domain/access.py), channels, rates and the user directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
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
from bot.domain.models import Job, JobState
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


def job_of(requester: str, app: str = "my-app") -> Job:
    return Job(1, app, "abc1234", None, requester, "C1", JobState.QUEUED, datetime.now(UTC))


def test_jobs_of_an_app_that_left_the_catalog_are_shown_to_their_requester_and_admins() -> None:
    # The app is gone (None): nobody is its pusher any more, so only the requester and the
    # admins may see or cancel its jobs.
    gone = job_of(ALICE, app="retired-app")
    rules = access()
    assert {u for u in (ADMIN, ALICE, MALLORY) if rules.may_see_job(u, gone, None)} == {
        ADMIN,
        ALICE,
    }
    bobs = job_of("U0BOB", app="retired-app")
    assert not rules.may_see_job(ALICE, bobs, None)
    assert not rules.may_see_job(MALLORY, bobs, None)
    assert not rules.may_cancel(ALICE, bobs, None)
    assert rules.may_cancel(ADMIN, bobs, None)


def test_the_requester_may_always_cancel_and_see_their_own_job() -> None:
    # Mallory is no pusher of my-app, yet it is her job: cancelling it is always hers.
    hers = job_of(MALLORY)
    rules = access()
    assert rules.may_cancel(MALLORY, hers, APP)
    assert rules.may_see_job(MALLORY, hers, APP)
    assert rules.may_cancel(ALICE, hers, APP)  # a pusher of the app
    assert not rules.may_cancel("U0BOB", hers, APP)
    assert not rules.may_see_job("U0BOB", hers, APP)
    assert access(jobs=Audience.EVERYONE).may_see_job("U0BOB", hers, APP)


def test_the_rate_limit_window_ends_exactly_per_s_after_a_request() -> None:
    now = [100.0]
    limiter = RateLimiter({Action.DIAGNOSE: Limit(1, 60)}, clock=lambda: now[0])
    limiter.take(ALICE, Action.DIAGNOSE)
    now[0] = 159.999
    with pytest.raises(RateLimited):
        limiter.take(ALICE, Action.DIAGNOSE)
    now[0] = 160.0  # the request at 100.0 is no longer in the last 60 s
    limiter.take(ALICE, Action.DIAGNOSE)
    with pytest.raises(RateLimited):
        limiter.take(ALICE, Action.DIAGNOSE)


@pytest.mark.parametrize(
    ("at", "wait"),
    [
        (0.5, "1 min"),  # 59.5 s rounds up to a minute
        (30.0, "30 s"),
        (30.5, "30 s"),  # 29.5 s rounds up, never down
        (30.9, "30 s"),
        (31.0, "29 s"),
        (59.9999, "1 s"),  # never "0 s"
    ],
)
def test_try_again_in_rounds_the_wait_up_to_whole_seconds(at: float, wait: str) -> None:
    now = [0.0]
    limiter = RateLimiter({Action.REPORT: Limit(1, 60)}, clock=lambda: now[0])
    limiter.take(ADMIN, Action.REPORT)
    now[0] = at
    with pytest.raises(RateLimited) as limited:
        limiter.take(ADMIN, Action.REPORT)
    assert limited.value.next_step == f"Try again in {wait}."


@pytest.mark.parametrize(
    ("count", "per_s", "said"),
    [(3, 7200, "3 report runs in the last 2 h"), (1, 90, "1 report runs in the last 1 min 30 s")],
)
def test_the_limit_is_said_in_hours_minutes_and_seconds(count: int, per_s: int, said: str) -> None:
    limiter = RateLimiter({Action.REPORT: Limit(count, per_s)}, clock=lambda: 0.0)
    for _ in range(count):
        limiter.take(ADMIN, Action.REPORT)
    with pytest.raises(RateLimited) as limited:
        limiter.take(ADMIN, Action.REPORT)
    assert limited.value.message.startswith(f"You asked for {said}, the most ecrbot takes.")


def test_a_channel_refusal_says_where_to_go_instead() -> None:
    with pytest.raises(WrongChannel) as nowhere:  # a refusal (issue #18), not a usage error
        ChannelRule(()).check("C0PLATFORM")
    assert nowhere.value.message == "ecrbot is not set up for any channel yet."
    assert nowhere.value.next_step == (
        "An admin sets `slack.channel` in the catalog (or `restrict_to_channels: false`)."
    )
    with pytest.raises(WrongChannel) as elsewhere:
        ChannelRule(("C0PLATFORM", "C0TEAM")).check("C0RANDOM")
    assert elsewhere.value.message == "/ecr is not used in this channel."
    assert elsewhere.value.next_step == "Use it in <#C0PLATFORM>, <#C0TEAM>."


def test_a_pusher_sees_the_jobs_of_their_app_and_a_listed_user_id_is_a_pusher() -> None:
    bobs = job_of("U0BOB")
    assert access().may_see_job(ALICE, bobs, APP)  # through the S0APPTEAM group
    named = app_spec(pushers=("U0CAROL",))  # a user id, not a group
    assert access().may_push("U0CAROL", named)
    assert access().may_see_job("U0CAROL", bobs, named)
    assert not access().may_see_job(ALICE, bobs, named)
    assert Access(("U0ROOT",), DIRECTORY).is_admin("U0ROOT")


@pytest.mark.parametrize(
    ("action", "app", "refusal"),
    [
        (Action.PUSH, APP, "You may not push `my-app`."),
        (Action.CANCEL, APP, "You may not cancel jobs of `my-app`."),
        (Action.JOBS, APP, "You may not see the jobs of `my-app`."),
        (Action.PUSH, None, "You may not push."),
        (Action.DIAGNOSE_PLATFORM, APP, "You may not diagnose the ecrbot platform."),
        (Action.REPORT, APP, "You may not post or preview the registry report."),
        (Action.AUDIT, None, "You may not read the audit log."),
        (Action.LOCK, APP, "You may not lock `my-app`."),
        (Action.UNLOCK, APP, "You may not unlock `my-app`."),
        (Action.LOCKS, None, "You may not read the locks."),
    ],
)
def test_each_refusal_names_what_was_refused(action: Action, app: Any, refusal: str) -> None:
    with pytest.raises(NotAuthorized) as refused:
        access(locks=Audience.ADMINS).require(MALLORY, action, app)  # open to all by default
    assert refused.value.message == refusal


@pytest.mark.parametrize(
    ("per_s", "said"),
    [(3600, "1 h"), (5400, "90 min"), (60, "1 min"), (59, "59 s"), (150, "2 min 30 s")],
)
def test_a_window_is_said_in_whole_hours_else_minutes_and_seconds(per_s: int, said: str) -> None:
    limiter = RateLimiter({Action.REPORT: Limit(1, per_s)}, clock=lambda: 0.0)
    limiter.take(ADMIN, Action.REPORT)
    with pytest.raises(RateLimited) as limited:
        limiter.take(ADMIN, Action.REPORT)
    assert limited.value.message.endswith(f"in the last {said}, the most ecrbot takes.")
