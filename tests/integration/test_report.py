"""The health report against a moto server seeded with a varied registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters.aws import EcrRegistry
from bot.adapters.registry_snapshot import RegistryReader
from bot.adapters.store import SqlJobStore
from bot.bootstrap import build_reports
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.models import JobState
from bot.domain.ports import Published
from bot.domain.report import HealthReport, SectionId
from bot.runtime.executors import Concurrency, Executors
from tests.diagnose_seed import PROVIDER_ARN, MotoSession
from tests.e2e.harness import ACCOUNT, REGION, service_env, unique
from tests.report_seed import seed_registry

pytestmark = pytest.mark.integration


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return service_env()


def items(report: HealthReport, section: SectionId, repository: str) -> list[str]:
    found = [s for s in report.sections if s.id is section]
    return [i.message for s in found for i in s.items if i.repository == repository]


def test_a_seeded_registry_reports_each_kind_of_problem(
    env: dict[str, str], tmp_path: Path
) -> None:
    repos = seed_registry(MotoSession(env["AWS_ENDPOINT_URL"]).client("ecr", REGION))
    ghost = unique("rpt-ghost")
    catalog = Catalog.model_validate(
        {
            "registry": {"account_id": ACCOUNT, "region": REGION},
            "apps": {
                repos["good"]: {"source": "/x", "risk": "high", "owner": "S0GOOD"},
                repos["loose"]: {"source": "/x", "risk": "low", "pushers": ["S0LOOSE"]},
                ghost: {"source": "/x"},
            },
        }
    )
    settings = Settings.model_validate(
        {
            "AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"],
            "ECRBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    store = SqlJobStore(settings.database_url)
    for key, state in (("a", JobState.SUCCEEDED), ("b", JobState.FAILED)):
        job, _ = store.create(
            key,
            {
                "app": repos["good"],
                "sha": "1a2b3c4",
                "version": None,
                "requested_by": "U",
                "channel": "C",
            },
        )
        store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
        store.finish(job.id, state, steps={"build": 3.0, "push": 1.0})
    registry = EcrRegistry(catalog.registry_spec, endpoint_url=settings.aws_endpoint_url)
    runner = build_reports(settings, catalog, registry, store, Executors(Concurrency()))
    posted: list[Published] = []

    first = runner.service.publish(lambda built, channel, reply: posted.append(built))
    # An ad-hoc report in between never moves the scheduled baseline.
    adhoc = runner.service.publish(lambda built, channel, reply: None, scheduled=False)
    second = runner.service.publish(lambda built, channel, reply: posted.append(built))

    good, loose = repos["good"], repos["loose"]
    assert any("KMS" in m for m in items(first, SectionId.COMPLIANCE, good))
    assert any("lifecycle" in m.lower() for m in items(first, SectionId.COMPLIANCE, loose))
    assert any("CVE-9999-9999" in m for m in items(first, SectionId.VULNERABILITIES, good))
    hygiene = " ".join(items(first, SectionId.HYGIENE, loose))
    assert "untagged" in hygiene and "latest" in hygiene
    assert items(first, SectionId.DRIFT, ghost)
    pipeline = (
        " ".join(
            m
            for s in first.sections
            if s.id is SectionId.PIPELINE
            for m in (i.message for i in s.items)
        )
        + first.sections[-1].summary
    )
    assert first.figures.repositories >= 2 and first.figures.images >= 6
    assert adhoc.changes.since == first.figures.taken_at
    assert second.changes.since == first.figures.taken_at  # history survived between reports
    assert len(runner.service.history()) == 2
    assert posted[0].chart_png.startswith(b"\x89PNG") and "," in posted[0].detail_csv
    assert first.gaps == () or all("scan" not in g for g in first.gaps), first.gaps
    assert pipeline


def test_one_unreadable_trust_policy_never_hides_the_other_roles(env: dict[str, str]) -> None:
    # Issue #12: evaluated per document. moto saves a trust policy IAM would refuse
    # ("Invalid Condition type"); the report names that role in a gap and keeps the others.
    iam = MotoSession(env["AWS_ENDPOINT_URL"]).client("iam", "us-east-1")

    def github_trust(operator: str, subject: str) -> str:
        statement = {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {operator: {"token.actions.githubusercontent.com:sub": subject}},
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    broken, loose = unique("rpt-broken-trust"), unique("rpt-any-repo")
    iam.create_role(
        RoleName=broken, AssumeRolePolicyDocument=github_trust("ForAllValuesStringLike", "repo:a/*")
    )
    iam.create_role(RoleName=loose, AssumeRolePolicyDocument=github_trust("StringLike", "repo:*"))
    try:
        gaps: list[str] = []
        reader = RegistryReader(
            REGION,
            ACCOUNT,
            pool=Executors(Concurrency()).pool("registry_reads"),
            endpoint_url=env["AWS_ENDPOINT_URL"],
        )
        findings = reader.access(gaps)
        assert any(f.principal.endswith(f"role/{loose}") for f in findings), findings
        [gap] = [g for g in gaps if broken in g]
        assert "AWS would refuse it as written" in gap
        assert "unknown condition operator 'ForAllValuesStringLike'" in gap
        assert not any(g.startswith("iam roles:") for g in gaps)  # the part was read
    finally:
        iam.delete_role(RoleName=broken)
        iam.delete_role(RoleName=loose)
