"""The health report over the catalog's registries against moto (issue #16): the home registry
and another account's, each read through its role (moto acts in the account a role belongs
to), in one report; a registry whose role STS refuses is a line naming it, the rest reported."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.aws import EcrRegistry
from bot.adapters.store import SqlJobStore
from bot.bootstrap import build_reports
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.report import SectionId, gap_sentence
from bot.runtime.executors import Concurrency, Executors
from tests.e2e.harness import REGION, account_session, service_env
from tests.standins.aws_faults import AwsFaults

pytestmark = pytest.mark.integration
SECOND = "210987654321"  # the test services' second registry


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFaults]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with AwsFaults(service_env()["AWS_ENDPOINT_URL"]) as faults:
        yield faults


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/ecrbot-report"


def test_one_report_holds_the_repositories_of_two_accounts(aws: AwsFaults, tmp_path: Path) -> None:
    # Home in an account of its own (through its role), so only this test's repository is there.
    home = str(random.randrange(10**11, 10**12 - 1)).rjust(12, "4")
    dr = "333322221111"
    name = f"rpt-{uuid.uuid4().hex[:8]}"
    moto = service_env()["AWS_ENDPOINT_URL"]
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    for account, tag in ((home, "1.1.0"), (SECOND, "1.0.0")):
        ecr = account_session(account).client("ecr", endpoint_url=moto)
        ecr.create_repository(repositoryName=name)
        ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag=tag)
    aws.deny_role(role(dr))
    catalog = Catalog.model_validate(
        {
            "registry": {"account_id": home, "region": REGION, "role": role(home)},
            "registries": {
                "prod": {"account_id": SECOND, "region": REGION, "role": role(SECOND)},
                "dr": {"account_id": dr, "region": REGION, "role": role(dr)},
            },
            "apps": {
                name: {
                    "source": str(tmp_path),
                    "risk": "high",
                    "environments": [{"name": "prod", "registry": "prod"}],
                }
            },
        }
    )
    settings = Settings.model_validate(
        {"AWS_ENDPOINT_URL": aws.url, "ECRBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}
    )
    executors = Executors(Concurrency())
    try:
        registry = EcrRegistry(catalog.registry_spec, endpoint_url=aws.url)
        runner = build_reports(
            settings, catalog, registry, SqlJobStore(settings.database_url), executors
        )
        report = runner.service.build().report
    finally:
        executors.shutdown()

    # Home: the repository in home's account, and nothing of the other accounts.
    home_compliance = next(s for s in report.sections if s.id is SectionId.COMPLIANCE)
    assert {i.repository for i in home_compliance.items} == {name}
    prod, refused = sorted(report.registries, key=lambda g: g.name != "prod")
    assert (prod.name, prod.account_id, prod.environments) == ("prod", SECOND, ("prod",))
    assert prod.error is None and prod.repositories >= 1
    prod_items = [i for s in prod.sections for i in s.items if i.repository == name]
    assert prod_items and all(
        i.registry == "prod" and "in registry prod" in i.key for i in prod_items
    )
    # The refused role: a line naming the registry and STS's answer.
    assert refused.name == "dr" and refused.error and "AccessDenied" in refused.error
    (gap,) = [g for g in report.gaps if "registry dr" in g]
    assert gap_sentence(gap).startswith("Repositories in registry dr could not be read:")
    # Each image is where its account holds it: the Environments section reads prod's 1.0.0.
    runs = next(s for s in report.sections if s.id is SectionId.ENVIRONMENTS).items[0].message
    assert runs == f"{name}: home 1.1.0 · prod 1.0.0"
    # A scheduled report reads as ecrbot itself, through each registry's role.
    assumed = {(a["RoleArn"], a["RoleSessionName"]) for a in aws.assumed}
    assert {(role(home), "ecrbot"), (role(SECOND), "ecrbot"), (role(dr), "ecrbot")} <= assumed
