"""The home registry through a role assumed per person: one adapter per person's job, a role STS
refuses is the step's error, and work done for no one assumes the role as ecrbot."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws_personal import PersonalRegistry
from bot.adapters.aws_sessions import RoleSessions
from bot.domain.errors import StepError
from bot.domain.models import Step
from bot.domain.on_behalf import OnBehalf, on_behalf_of
from bot.domain.ports import Registry, RegistryCredentials
from tests.unit.test_aws_sessions import ROLE, FakeSts


class SessionRegistry:
    """A registry that answers with the access key its session was made with."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.session = session

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        key = self.session.get_credentials().get_frozen_credentials().access_key
        return RegistryCredentials("AWS", key, "https://ecr", None)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"not used here: {name}")


def registry(assume_role: Any) -> PersonalRegistry:
    def make(session: boto3.session.Session) -> Registry:
        return SessionRegistry(session)

    return PersonalRegistry(ROLE, "eu-west-2", RoleSessions(assume_role=assume_role), make)


def test_each_persons_job_has_its_own_session_and_the_schedule_is_ecrbot() -> None:
    sts = FakeSts()
    home = registry(sts.assume_role)
    with on_behalf_of(OnBehalf("U0ALICE", "my-app", "push-1")):
        alice = home.credentials().password
        assert home.credentials().password == alice  # cached: one AssumeRole for the job
    with on_behalf_of(OnBehalf("U0BOB", "my-app", "push-2")):
        assert home.credentials().password != alice
    home.credentials()  # a scheduled report: for no one
    assert [c.get("SourceIdentity") for c in sts.calls] == ["U0ALICE", "U0BOB", None]
    assert [c["RoleSessionName"] for c in sts.calls] == [
        "ecrbot-U0ALICE-push-1",
        "ecrbot-U0BOB-push-2",
        "ecrbot",
    ]


def test_a_role_sts_refuses_is_the_steps_error() -> None:
    def refuse(**kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    alice = OnBehalf("U0ALICE", "my-app", "push-1")
    with on_behalf_of(alice), pytest.raises(StepError) as raised:
        registry(refuse).credentials()
    assert raised.value.step == Step.AUTHENTICATE and "AccessDenied" in raised.value.raw


def test_a_requester_that_is_not_a_slack_id_is_refused_before_sts() -> None:
    sts = FakeSts()
    stranger = OnBehalf("terminal user", "my-app", "push-1")
    with on_behalf_of(stranger), pytest.raises(StepError, match="no role session"):
        registry(sts.assume_role).credentials()
    assert sts.calls == []
