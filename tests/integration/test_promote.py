"""Promotion by digest through the test ECR edge with skopeo: an image index (two platforms)
copied whole from the home repository to a "prod" one, digest equal on both sides, and a
second promotion answered without a copy.

The edge answers for one registry host, so "prod" is a second repository on that host (an
environment's `repository:`); two hosts are the issue's ask, not done in this slice.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from bot.adapters.ecr_digests import EcrDigests
from bot.adapters.skopeo import SkopeoCopier
from bot.domain.access import Access
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.promotion import ImageRef
from bot.services.promotions import PromotionService
from tests.e2e.harness import ecr, service_env, unique
from tests.fakes import app_spec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="apt-get install skopeo"),
]


class NoGroups:
    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


def _blob(root: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def oci_index(root: Path, tag: str) -> None:
    """An OCI layout holding an index of two platforms, each one small random layer."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    manifests = []
    for arch in ("amd64", "arm64"):
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as archive:
            payload = os.urandom(64 * 1024)
            info = tarfile.TarInfo(f"{arch}.bin")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        layer = gzip.compress(tar.getvalue(), mtime=0)
        diff_id = "sha256:" + hashlib.sha256(tar.getvalue()).hexdigest()
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    **_blob(root, config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        **_blob(root, layer),
                    }
                ],
            }
        ).encode()
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **_blob(root, manifest),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
    ).encode()
    top = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        **_blob(root, index),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def test_promotion_copies_the_index_whole_and_keeps_the_digest(tmp_path: Path) -> None:
    services = service_env()
    aws = ecr(services)
    token = aws.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(token).decode().split(":", 1)
    home_repo, prod_repo = unique("promote-home"), unique("promote-prod")
    for name in (home_repo, prod_repo):
        aws.create_repository(repositoryName=name)
    account, region = services["ECR_HOST"].split(".")[0], services["AWS_REGION"]
    home = NamedRegistry(HOME, account, region)
    prod = Environment("prod", NamedRegistry("prod", account, region, "arn:r"), prod_repo)
    app = app_spec(name="my-app", repository=home_repo, environments=(prod,))
    copier = SkopeoCopier(lambda image: (user, password), ca_bundle=services["ECR_EDGE_CA_CERT"])

    layout = tmp_path / "layout"
    oci_index(layout, "1.4.0")
    authfile = tmp_path / "auth.json"
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {services["ECR_HOST"]: {"auth": auth}}}))
    subprocess.run(
        ["skopeo", "copy", "--all", "--preserve-digests", "--dest-authfile", str(authfile),
         f"oci:{layout}:1.4.0", f"docker://{services['ECR_HOST']}/{home_repo}:1.4.0"],
        check=True, capture_output=True,
    )  # fmt: skip
    source_digest = copier.digest(ImageRef(home, home_repo, "1.4.0"))
    assert source_digest is not None

    service = PromotionService({"my-app": app}.get, Access((), NoGroups()), copier, home)
    first = service.promote("my-app", "1.4.0", "prod", user=None)
    assert first.copied and first.plan.digest == source_digest
    assert copier.digest(ImageRef(prod.registry, prod_repo, "1.4.0")) == source_digest
    assert first.uris == (f"{services['ECR_HOST']}/{prod_repo}:1.4.0",)
    # Every platform's manifest came along: the index's children resolve in the target.
    index = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--raw", "--authfile", str(authfile),
             f"docker://{services['ECR_HOST']}/{prod_repo}@{source_digest}"],
            check=True, capture_output=True,
        ).stdout
    )  # fmt: skip
    for child in index["manifests"]:
        assert copier.digest(ImageRef(prod.registry, prod_repo, child["digest"])) == child["digest"]
    # And ECR (moto, fed by the edge) has the same digest under the tag.
    described = aws.describe_images(repositoryName=prod_repo, imageIds=[{"imageTag": "1.4.0"}])
    assert described["imageDetails"][0]["imageDigest"] == source_digest

    # A second tag on the index the target now holds: its bytes put again, no blob moves.
    copier.tag(ImageRef(prod.registry, prod_repo, "1a2b3c4"), source_digest)
    assert copier.digest(ImageRef(prod.registry, prod_repo, "1a2b3c4")) == source_digest
    tagged = aws.describe_images(repositoryName=prod_repo, imageIds=[{"imageTag": "1a2b3c4"}])
    assert tagged["imageDetails"][0]["imageDigest"] == source_digest

    again = service.promote("my-app", "1.4.0", "prod", user=None)
    assert not again.copied and again.plan.digest == source_digest
    # ECR's API (BatchGetImage) names the index by the digest skopeo read from the registry.
    api = EcrDigests(lambda named: aws)
    assert api.digest(ImageRef(home, home_repo, "1.4.0")) == source_digest
    assert api.digest(ImageRef(prod.registry, prod_repo, "1.4.0")) == source_digest
    with_api = PromotionService(
        {"my-app": app}.get, Access((), NoGroups()), copier, home, reader=api
    )
    assert not with_api.promote("my-app", "1.4.0", "prod", user=None).copied
    print(f"promotion: copy {first.seconds:.2f} s, already there {again.seconds:.2f} s")
