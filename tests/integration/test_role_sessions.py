"""Role sessions against moto, through the AWS stand-in that records every AssumeRole: ECR logins
for a promotion are made in each registry's role assumed with the requester's SourceIdentity
and tags, a role in another account acts in that account, and what STS would refuse is refused."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.adapters.aws_sessions import RoleSessions
from bot.bootstrap.promotions import ecr_logins
from bot.config import Settings
from bot.domain.environments import NamedRegistry
from bot.domain.on_behalf import OnBehalf, on_behalf_of
from bot.domain.promotion import ImageRef
from tests.e2e.harness import ACCOUNT, REGION, service_env
from tests.standins.aws_faults import AwsFaults

pytestmark = pytest.mark.integration

PROD_ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{PROD_ACCOUNT}:role/ecrbot-promote"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFaults]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with AwsFaults(service_env()["AWS_ENDPOINT_URL"]) as faults:
        yield faults


def test_promotion_logins_assume_the_target_role_for_the_requester(aws: AwsFaults) -> None:
    settings = Settings(aws_endpoint_url=aws.url)
    login = ecr_logins(settings, RoleSessions(endpoint_url=aws.url))
    home = NamedRegistry("home", ACCOUNT, REGION)
    prod = NamedRegistry("prod", PROD_ACCOUNT, REGION, ROLE)
    alice = OnBehalf("U0ALICE", "my-app", "promote-prod")
    with on_behalf_of(alice):
        assert login(ImageRef(home, "my-app", "1.0.0"))[0] == "AWS"
        user, password = login(ImageRef(prod, "my-app", "1.0.0"))
        login(ImageRef(prod, "my-app", "1.0.1"))  # the same job: no second AssumeRole
    assert (user, password) == ("AWS", f"{PROD_ACCOUNT}-auth-token")  # acts in prod's account
    assert aws.assumed == [
        {
            "RoleArn": ROLE,
            "RoleSessionName": "ecrbot-U0ALICE-promote-prod",
            "SourceIdentity": "U0ALICE",
            "Tags": {"ecrbot-app": "my-app", "ecrbot-job": "promote-prod"},
            "TransitiveTagKeys": ["ecrbot-app", "ecrbot-job"],
        }
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"SourceIdentity": "aws:someone"},
        {"SourceIdentity": "has space"},
        {"RoleSessionName": "x"},
        {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
        {"Tags": [{"Key": "a", "Value": "v" * 257}]},
        {"Tags": [{"Key": "a", "Value": "v"}], "TransitiveTagKeys": ["b"]},
    ],
)
def test_the_stand_in_refuses_what_sts_refuses(aws: AwsFaults, bad: dict[str, object]) -> None:
    # botocore's own checks off, so every call reaches the stand-in as it would reach STS.
    unchecked = Config(parameter_validation=False)
    sts = boto3.client("sts", region_name=REGION, endpoint_url=aws.url, config=unchecked)
    args: dict[str, object] = {"RoleArn": ROLE, "RoleSessionName": "ecrbot", **bad}
    with pytest.raises(ClientError) as raised:
        sts.assume_role(**args)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert len(aws.assumed) == 1  # recorded all the same
