"""Role sessions for a person: what `AssumeRole` is sent, one call per job, refreshed in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws_sessions import RoleAssumeFailed, RoleSessions, assume_role_args
from bot.domain.on_behalf import OnBehalf, SessionValueRefused

ROLE = "arn:aws:iam::210987654321:role/ecrbot-promote"
ALICE = OnBehalf("U0ALICE", "my-app", "push-42")


class FakeSts:
    def __init__(self, lasts: timedelta = timedelta(hours=1)) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lasts = lasts

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        n = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{n}",
                "SecretAccessKey": "secret",
                "SessionToken": f"token{n}",
                "Expiration": datetime.now(UTC) + self.lasts,
            }
        }


def test_the_call_carries_the_source_identity_tags_and_transitive_keys() -> None:
    args = assume_role_args(ROLE, ALICE, 3600)
    assert args == {
        "RoleArn": ROLE,
        "RoleSessionName": "ecrbot-U0ALICE-push-42",
        "DurationSeconds": 3600,
        "SourceIdentity": "U0ALICE",
        "Tags": [
            {"Key": "ecrbot-app", "Value": "my-app"},
            {"Key": "ecrbot-job", "Value": "push-42"},
        ],
        "TransitiveTagKeys": ["ecrbot-app", "ecrbot-job"],
    }
    assert "SourceIdentity" not in assume_role_args(ROLE, None, 3600)  # ecrbot for itself


def test_one_assume_role_per_role_person_and_job() -> None:
    sts = FakeSts()
    sessions = RoleSessions(assume_role=sts.assume_role)
    first = sessions.session(ROLE, ALICE, "eu-west-2")
    assert first.get_credentials().get_frozen_credentials().access_key == "ASIA1"
    assert sessions.session(ROLE, ALICE, "eu-west-2") is first
    other_job = sessions.session(ROLE, OnBehalf("U0ALICE", "my-app", "push-43"), "eu-west-2")
    assert other_job.get_credentials().get_frozen_credentials().access_key == "ASIA2"
    assert first.region_name == "eu-west-2"
    assert [c["SourceIdentity"] for c in sts.calls] == ["U0ALICE", "U0ALICE"]


def test_no_role_is_the_bots_own_session_and_no_call() -> None:
    sts = FakeSts()
    RoleSessions(assume_role=sts.assume_role).session(None, ALICE, "eu-west-2")
    assert sts.calls == []


def test_credentials_close_to_expiry_are_refreshed_with_the_same_identity() -> None:
    sts = FakeSts(lasts=timedelta(minutes=5))  # inside botocore's mandatory refresh window
    session = RoleSessions(assume_role=sts.assume_role).session(ROLE, ALICE, "eu-west-2")
    session.get_credentials().get_frozen_credentials()
    session.get_credentials().get_frozen_credentials()
    assert len(sts.calls) >= 2
    assert {c["SourceIdentity"] for c in sts.calls} == {"U0ALICE"}


def test_a_refusal_names_the_role_not_the_credentials() -> None:
    def refuse(**kwargs: Any) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed sts:SetSourceIdentity"}},
            "AssumeRole",
        )

    session = RoleSessions(assume_role=refuse).session(ROLE, ALICE, "eu-west-2")
    with pytest.raises(RoleAssumeFailed, match=r"could not assume .*ecrbot-promote.*AccessDenied"):
        session.get_credentials()


def test_a_user_that_is_not_a_slack_id_never_reaches_sts() -> None:
    sts = FakeSts()
    with pytest.raises(SessionValueRefused):
        RoleSessions(assume_role=sts.assume_role).session(
            ROLE, OnBehalf("alice; DROP", "my-app", "x"), "eu-west-2"
        )
    assert sts.calls == []


def test_a_probe_asks_sts_each_time_for_the_shortest_session() -> None:
    sts = FakeSts()
    sessions = RoleSessions(assume_role=sts.assume_role)
    sessions.probe(ROLE, ALICE, "eu-west-2")
    sessions.probe(ROLE, ALICE, "eu-west-2")
    assert [c["DurationSeconds"] for c in sts.calls] == [900, 900]
    assert {c["SourceIdentity"] for c in sts.calls} == {"U0ALICE"}


def test_a_core_is_the_session_under_the_boto3_one_and_assumes_once() -> None:
    sts = FakeSts()
    sessions = RoleSessions(assume_role=sts.assume_role)
    core = sessions.core(ROLE, ALICE, "eu-west-2")  # botocore only: `ecrbot promote`'s clients
    assert core.get_credentials().get_frozen_credentials().access_key == "ASIA1"
    assert sessions.session(ROLE, ALICE, "eu-west-2")._session is core
    assert sessions.core(None, ALICE, "eu-west-2") is sessions.session(None, ALICE, "x")._session
    assert len(sts.calls) == 1


def test_role_sessions_share_one_loader_that_does_not_grow_per_job() -> None:
    sessions = RoleSessions(assume_role=FakeSts().assume_role)
    made = [
        sessions.session(ROLE, OnBehalf("U0ALICE", "my-app", f"push-{n}"), "eu-west-2")
        for n in range(5)
    ]
    loader = sessions.session(None, None, "eu-west-2")._session.get_component("data_loader")
    assert all(s._session.get_component("data_loader") is loader for s in made)
    assert len(loader.search_paths) == len(set(loader.search_paths))  # boto3 appends per session
