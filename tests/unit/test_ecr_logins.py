"""Promotion logins: a registry whose role STS refuses is a CopyFailed naming the registry, in
STS's words; a requester that is not a Slack id never reaches STS; logins started ahead
(`prefetch`, beside the digest reads) answer the copy once, in the requester's context."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws_sessions import RoleAssumeFailed, RoleSessions
from bot.adapters.ecr_digests import EcrLogins
from bot.bootstrap.promotions import ecr_logins
from bot.config import Settings
from bot.domain.environments import HOME, NamedRegistry
from bot.domain.on_behalf import OnBehalf, current_on_behalf, on_behalf_of
from bot.domain.promotion import CopyFailed, ImageRef
from tests.unit.test_aws_sessions import ROLE, FakeSts

PROD = NamedRegistry("prod", "210987654321", "eu-west-2", ROLE)
HOME_REGISTRY = NamedRegistry(HOME, "123456789012", "eu-west-2")


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


class SlowTokens:
    """GetAuthorizationToken held until released, recording whose context asked."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.seen: list[tuple[str, OnBehalf | None]] = []

    def client(self, named: NamedRegistry) -> SlowTokens:
        self.seen.append((named.name, current_on_behalf.get()))
        return self

    def get_authorization_token(self, registryIds: list[str]) -> dict[str, Any]:
        self.gate.wait(5)
        token = base64.b64encode(f"AWS:{registryIds[0]}-{len(self.seen)}".encode()).decode()
        return {"authorizationData": [{"authorizationToken": token}]}


def test_prefetched_logins_answer_the_copy_once_in_the_requesters_context() -> None:
    tokens = SlowTokens()
    logins = EcrLogins(tokens.client)
    alice = OnBehalf("U0ALICE", "my-app", "promote-prod")
    with on_behalf_of(alice):
        logins.prefetch(HOME_REGISTRY, PROD)  # both under way before either answers
        logins.prefetch(PROD)  # already started: not asked twice
        tokens.gate.set()
        assert logins(ImageRef(PROD, "my-app", "1.0.0"))[0] == "AWS"
        assert logins(ImageRef(HOME_REGISTRY, "my-app", "1.0.0"))[0] == "AWS"
    assert sorted(tokens.seen) == [(HOME, alice), ("prod", alice)]


def no_session(named: NamedRegistry) -> Any:
    raise RoleAssumeFailed("refused")


def test_a_prefetched_refusal_is_the_copys_failure() -> None:
    login = EcrLogins(no_session)
    with on_behalf_of(OnBehalf("U0ALICE", "my-app", "promote-prod")):
        login.prefetch(PROD)
        with pytest.raises(CopyFailed, match=f"no ECR login for {PROD.host}: refused"):
            login(ImageRef(PROD, "my-app", "1.0.0"))
