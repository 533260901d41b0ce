"""The report's read of each app's environments, as bootstrap builds it: each environment's
repository read in its own registry (another account, through the registry's role, as moto
serves it), and an environment that can't be read is a gap of its own."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap.parts import environment_images
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.report import RegistryRead, RepositoryInfo
from bot.runtime.executors import Concurrency, Executors
from tests.e2e.harness import ACCOUNT, REGION, account_session, service_env

pytestmark = pytest.mark.integration
SECOND = "210987654321"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_each_environment_is_read_in_its_registry(tmp_path: Path) -> None:
    services = service_env()
    name = f"envs-{uuid.uuid4().hex[:8]}"
    prod = account_session(SECOND).client("ecr", endpoint_url=services["AWS_ENDPOINT_URL"])
    prod.create_repository(repositoryName=name)
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    prod.put_image(repositoryName=name, imageManifest=manifest, imageTag="1.0.0")
    catalog = Catalog.model_validate(
        {
            "registry": {"account_id": ACCOUNT, "region": REGION},
            "registries": {
                "prod": {
                    "account_id": SECOND,
                    "region": REGION,
                    "role": f"arn:aws:iam::{SECOND}:role/ecrbot-promote",
                }
            },
            "apps": {
                name: {
                    "source": str(tmp_path),
                    "environments": [
                        {"name": "prod", "registry": "prod"},
                        {"name": "dr", "registry": "prod", "repository": f"{name}-dr"},
                    ],
                }
            },
        }
    )
    settings = Settings.model_validate(
        {"AWS_ENDPOINT_URL": services["AWS_ENDPOINT_URL"], "ECRBOT_WORK_DIR": str(tmp_path)}
    )
    gaps: list[str] = []
    read = environment_images(settings, catalog, Executors(Concurrency()), None)
    found = {env.environment: env for env in read(gaps, ())}
    assert [image.tags for image in found["prod"].images] == [("1.0.0",)], gaps
    assert found["prod"].registry == "prod" and found["dr"].images == ()
    (gap,) = gaps
    assert gap.startswith(f"environment dr of {name}:") and "RepositoryNotFound" in gap

    # A registry the report has read already (issue #16) is not read again: its repositories
    # are taken as read, and one it doesn't hold is the same gap as ECR's answer.
    held = replace(found["prod"].images[0], tags=("as-read",))
    listed = RepositoryInfo(name, "arn", NOW, False, False, "AES256", False, (held,), 1)
    known = (RegistryRead("prod", SECOND, REGION, ("prod", "dr"), (), (listed,)),)
    again: list[str] = []
    found = {env.environment: env for env in read(again, known)}
    assert [image.tags for image in found["prod"].images] == [("as-read",)]
    assert again == [gap]
