"""Seed moto's ECR with a varied registry for the health report: real manifests via put_image."""

from __future__ import annotations

import json
from typing import Any

from bot.entrypoints.console.sandbox import LIFECYCLE, image_manifest
from tests.e2e.harness import unique

__all__ = ["LIFECYCLE", "manifest", "put", "seed_registry"]


def manifest(seed: str, size: int = 2_000_000) -> str:
    """A Docker v2 image manifest whose digests are derived from `seed` (one image per seed)."""
    return image_manifest(seed, size)


def put(ecr: Any, repository: str, seed: str, tag: str | None) -> None:
    extra = {"imageTag": tag} if tag else {}
    ecr.put_image(repositoryName=repository, imageManifest=manifest(seed), **extra)


def seed_registry(ecr: Any, images_per_repository: int = 3) -> dict[str, str]:
    """A well-kept repository and a loose one; returns their names by role."""
    good, loose = unique("rpt-good"), unique("rpt-loose")
    ecr.create_repository(
        repositoryName=good,
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )
    ecr.put_lifecycle_policy(repositoryName=good, lifecyclePolicyText=json.dumps(LIFECYCLE))
    for n in range(images_per_repository):
        put(ecr, good, f"{good}-{n}", f"1.{n}.0")
        # Pushes within one second tie on pushed_at; scan each so the newest has findings.
        ecr.start_image_scan(repositoryName=good, imageId={"imageTag": f"1.{n}.0"})
    ecr.create_repository(repositoryName=loose, imageTagMutability="MUTABLE")
    for n in range(images_per_repository - 1):  # images pushed by digest only: untagged
        put(ecr, loose, f"{loose}-{n}", None)
    put(ecr, loose, f"{loose}-latest", "latest")
    return {"good": good, "loose": loose}
