"""trust.bot_roles against moto: with a role for the home registry and one for prod, diagnose
reads through the home role assumed for the person who asked, and checks that each role's trust
policy lets the bot's own principal in with SourceIdentity and session tags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.source import GitSource
from bot.bootstrap import build_diagnoser
from bot.bootstrap.parts import home_registry
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.checks.model import Status
from bot.domain.on_behalf import OnBehalf, on_behalf_of
from bot.domain.ports import Engine
from bot.runtime.executors import Concurrency, Executors
from bot.services.diagnose import DiagnoseRequest
from tests.diagnose_seed import MotoSession
from tests.e2e.harness import ACCOUNT, REGION, service_env, unique
from tests.standins.aws_faults import AwsFaults

pytestmark = pytest.mark.integration

ALL = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]


def no_engine() -> Engine:
    raise AssertionError("an app's checks never ask for the engine")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFaults]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with AwsFaults(service_env()["AWS_ENDPOINT_URL"]) as faults:
        yield faults


def test_each_registry_role_is_checked_for_the_bots_principal(
    aws: AwsFaults, tmp_path: Path
) -> None:
    session = MotoSession(aws.url)
    iam = session.client("iam", "us-east-1")
    bot = session.client("sts", REGION).get_caller_identity()["Arn"]
    name = unique("app")
    roles = {}
    for label, actions in (("home", ALL), ("prod", ["sts:AssumeRole"])):
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": bot}, "Action": actions}],
        }
        role = f"{name}-{label}"
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        roles[label] = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    catalog = Catalog.model_validate(
        {
            "registry": {"account_id": ACCOUNT, "region": REGION, "role": roles["home"]},
            "registries": {
                "prod": {"account_id": ACCOUNT, "region": REGION, "role": roles["prod"]},
                "far": {
                    "account_id": "210987654321",
                    "region": REGION,
                    "role": "arn:aws:iam::210987654321:role/ecrbot-promote",
                },
            },
            "apps": {
                name: {
                    "source": str(tmp_path),
                    "environments": [
                        {"name": "prod", "registry": "prod"},
                        {"name": "dr", "registry": "far"},
                    ],
                }
            },
        }
    )
    settings = Settings.model_validate(
        {"AWS_ENDPOINT_URL": aws.url, "ECRBOT_WORK_DIR": str(tmp_path / "work")}
    )
    executors = Executors(Concurrency())
    diagnoser = build_diagnoser(
        settings,
        catalog,
        no_engine,
        lambda: home_registry(settings, catalog),
        GitSource(tmp_path / "sources"),
        executors,
    )
    with on_behalf_of(OnBehalf("U0ALICE", name, "diagnose")):
        report = diagnoser.run(DiagnoseRequest(name))
    found = {r.resource: r for r in report.results if r.id == "trust.bot_roles"}
    assert found[roles["home"]].status is Status.PASS, found[roles["home"]]
    prod = found[roles["prod"]]
    assert prod.status is Status.FAIL and "`sts:SetSourceIdentity`" in prod.summary, prod
    assert '"sts:TagSession"' in prod.remediation and bot in prod.remediation
    far_role = "arn:aws:iam::210987654321:role/ecrbot-promote"
    far = found[far_role]
    # Out of IAM's reach: STS was asked instead (moto lets anyone in).
    assert far.status is Status.PASS and "STS let the bot assume" in far.summary, far
    assert "account 210987654321" in far.summary
    # Diagnose's own reads went through the home role; each environment's repository was read
    # through its registry's role (release.targets), and the far one probed: every one assumed
    # for the person who asked.
    assert {(c["RoleArn"], c["SourceIdentity"]) for c in aws.assumed} == {
        (roles["home"], "U0ALICE"),
        (roles["prod"], "U0ALICE"),
        (far_role, "U0ALICE"),
    }
