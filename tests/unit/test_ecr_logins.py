"""Promotion logins: a registry whose role STS refuses is a CopyFailed naming the registry, in
STS's words; a requester that is not a Slack id never reaches STS."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws_sessions import RoleSessions
from bot.bootstrap.promotions import ecr_logins
from bot.config import Settings
from bot.domain.environments import NamedRegistry
from bot.domain.on_behalf import OnBehalf, on_behalf_of
from bot.domain.promotion import CopyFailed, ImageRef
from tests.unit.test_aws_sessions import ROLE, FakeSts

PROD = NamedRegistry("prod", "210987654321", "eu-west-2", ROLE)


def refuse(**kwargs: Any) -> dict[str, Any]:
    raise ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not authorized to sts:TagSession"}},
        "AssumeRole",
    )


def test_a_refused_role_is_a_copy_failure_naming_the_registry() -> None:
    login = ecr_logins(Settings(), RoleSessions(assume_role=refuse))
    alice = OnBehalf("U0ALICE", "my-app", "promote-prod")
    with on_behalf_of(alice), pytest.raises(CopyFailed) as failed:
        login(ImageRef(PROD, "my-app", "1.0.0"))
    said = str(failed.value)
    assert said.startswith(f"no ECR login for {PROD.host}: could not assume {ROLE}")
    assert "AccessDenied" in said and "sts:TagSession" in said


def test_a_requester_that_is_not_a_slack_id_never_reaches_sts() -> None:
    sts = FakeSts()
    login = ecr_logins(Settings(), RoleSessions(assume_role=sts.assume_role))
    typed = OnBehalf("someone typed this", "my-app", "promote-prod")
    with on_behalf_of(typed), pytest.raises(CopyFailed, match="not a Slack user id"):
        login(ImageRef(PROD, "my-app", "1.0.0"))
    assert sts.calls == []
