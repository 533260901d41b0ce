"""The real test services work together: dockerd pushes through the ECR edge to the registry,
moto learns of every image, and the edge's ECR behaviours and faults show in docker's stream.

Needs `scripts/test-services up`; a service that is not up fails these tests (never skips).
The expected strings here are what docker 20.10 reports; ecrbot maps them to explanations.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import docker
import psycopg
import pytest
import requests

from tests.e2e.harness import account_session

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = REPO_ROOT / "var" / "test-services.env"
REQUIRED = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "DOCKER_HOST",
    "ECR_EDGE_CONTROL_URL",
    "ECRBOT_TEST_POSTGRES_URL",
    "ECR_HOST",
    "BUSYBOX_STATIC",
)
ACCOUNT = "123456789012"


def load_env() -> dict[str, str]:
    """var/test-services.env, with variables already in the environment taking precedence."""
    values: dict[str, str] = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    values.update({key: os.environ[key] for key in REQUIRED if key in os.environ})
    missing = [key for key in REQUIRED if not values.get(key)]
    if missing:
        pytest.fail(f"{missing} unset and not in {ENV_FILE}: run scripts/test-services up")
    return values


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    values = load_env()
    # Each service must answer; a dead one is a failure of the setup, not a reason to skip.
    checks = {
        "moto": f"{values['AWS_ENDPOINT_URL']}/moto-api/",
        "ECR edge control": f"{values['ECR_EDGE_CONTROL_URL']}/healthz",
    }
    for name, url in checks.items():
        try:
            requests.get(url, timeout=5).raise_for_status()
        except requests.RequestException as error:
            pytest.fail(f"{name} is not up ({error}): run scripts/test-services up")
    return values


@pytest.fixture(scope="module")
def ecr(env: dict[str, str]) -> Any:
    return boto3.client(
        "ecr",
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


@pytest.fixture(scope="module")
def api(env: dict[str, str]) -> Iterator[docker.APIClient]:
    try:
        client = docker.APIClient(base_url=env["DOCKER_HOST"], timeout=120)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.fail(f"the Docker engine is not up ({error}): run scripts/test-services up")
    yield client
    client.close()


@pytest.fixture(scope="module")
def password(ecr: Any, env: dict[str, str]) -> str:
    """The registry password from moto's token, the way the bot gets it."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == f"https://{env['ECR_HOST']}"
    user, _, secret = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return secret


class Images:
    """Builds tiny FROM-scratch busybox images and removes them (and their tags) afterwards."""

    def __init__(self, api: docker.APIClient, busybox: str, workdir: Path) -> None:
        self.api = api
        self.busybox = busybox
        self.workdir = workdir
        self.references: list[str] = []

    def build(self, variant: str = "") -> str:
        context = self.workdir / f"context-{uuid.uuid4().hex[:8]}"
        context.mkdir()
        shutil.copy2(self.busybox, context / "busybox")
        # A label changes the image config, hence the manifest: a different image, same layer.
        (context / "Dockerfile").write_text(
            "FROM scratch\n"
            "COPY busybox /bin/busybox\n"
            f'LABEL ecrbot.test.variant="{variant}"\n'
            'ENTRYPOINT ["/bin/busybox"]\n'
        )
        image_id = None
        for chunk in self.api.build(path=str(context), decode=True, rm=True, forcerm=True):
            assert "errorDetail" not in chunk, chunk
            image_id = chunk.get("aux", {}).get("ID", image_id)
        assert image_id, "docker build reported no image ID"
        self.references.append(image_id)
        return str(image_id)

    def tag(self, image_id: str, repository_uri: str, tag: str) -> None:
        assert self.api.tag(image_id, repository_uri, tag)
        self.references.insert(0, f"{repository_uri}:{tag}")

    def cleanup(self) -> None:
        for reference in self.references:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_image(reference, force=True)


@pytest.fixture
def images(api: docker.APIClient, env: dict[str, str], tmp_path: Path) -> Iterator[Images]:
    built = Images(api, env["BUSYBOX_STATIC"], tmp_path)
    yield built
    built.cleanup()


@pytest.fixture
def control(env: dict[str, str]) -> str:
    return env["ECR_EDGE_CONTROL_URL"]


def unique_name(prefix: str) -> str:
    return f"ecrbot-test/{prefix}-{uuid.uuid4().hex[:10]}"


def create_repository(ecr: Any, name: str, mutability: str = "MUTABLE") -> str:
    repository = ecr.create_repository(repositoryName=name, imageTagMutability=mutability)
    return str(repository["repository"]["repositoryUri"])


def push(api: docker.APIClient, uri: str, tag: str, password: str) -> list[dict[str, Any]]:
    """Pushes and reads every chunk of docker's stream, as the bot does."""
    auth = {"username": "AWS", "password": password}
    return list(api.push(uri, tag=tag, stream=True, decode=True, auth_config=auth))


def errors(chunks: list[dict[str, Any]]) -> list[str]:
    return [chunk["errorDetail"]["message"] for chunk in chunks if "errorDetail" in chunk]


def pushed_digest(chunks: list[dict[str, Any]]) -> str:
    digests = [chunk["aux"]["Digest"] for chunk in chunks if "Digest" in chunk.get("aux", {})]
    assert len(digests) == 1, chunks
    return str(digests[0])


def moto_digests(ecr: Any, name: str) -> dict[str, str]:
    details = ecr.describe_images(repositoryName=name)["imageDetails"]
    return {tag: d["imageDigest"] for d in details for tag in d.get("imageTags", [])}


def test_push_reaches_registry_and_moto_with_the_same_digest(
    api: docker.APIClient, ecr: Any, images: Images, password: str, env: dict[str, str]
) -> None:
    name = unique_name("push")
    uri = create_repository(ecr, name)
    assert uri == f"{env['ECR_HOST']}/{name}"
    image = images.build("push")
    images.tag(image, uri, "v1")

    chunks = push(api, uri, "v1", password)

    assert errors(chunks) == []
    digest = pushed_digest(chunks)
    assert moto_digests(ecr, name) == {"v1": digest}
    detail = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": "v1"}])
    media_type = detail["imageDetails"][0]["imageManifestMediaType"]
    assert media_type == "application/vnd.docker.distribution.manifest.v2+json"

    # The same image under the same tag again: ECR takes it as a no-op, not an error.
    again = push(api, uri, "v1", password)
    assert errors(again) == []
    assert pushed_digest(again) == digest
    assert moto_digests(ecr, name) == {"v1": digest}


def test_immutable_tag_cannot_be_overwritten(
    api: docker.APIClient, ecr: Any, images: Images, password: str
) -> None:
    name = unique_name("immutable")
    uri = create_repository(ecr, name, "IMMUTABLE")
    first = images.build("first")
    images.tag(first, uri, "v1")
    first_chunks = push(api, uri, "v1", password)
    assert errors(first_chunks) == []

    second = images.build("second")
    images.tag(second, uri, "v1")
    chunks = push(api, uri, "v1", password)

    assert errors(chunks) == [
        f"tag invalid: The image tag 'v1' already exists in the '{name}' repository and "
        "cannot be overwritten because the repository is immutable."
    ]
    assert moto_digests(ecr, name) == {"v1": pushed_digest(first_chunks)}


def test_repository_unknown_to_ecr(
    api: docker.APIClient, images: Images, password: str, env: dict[str, str]
) -> None:
    name = unique_name("missing")
    uri = f"{env['ECR_HOST']}/{name}"
    images.tag(images.build("missing"), uri, "v1")

    chunks = push(api, uri, "v1", password)

    assert errors(chunks) == [
        f"name unknown: The repository with name '{name}' does not exist "
        f"in the registry with id '{ACCOUNT}'"
    ]


FAULT_ERRORS = {
    "expired_token": "denied: Your authorization token has expired. Reauthenticate and try again.",
    "deny_upload": (
        f"denied: User: arn:aws:sts::{ACCOUNT}:assumed-role/ecrbot/ecrbot is not authorized to "
        f"perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-2:{ACCOUNT}:"
        "repository/{name} because no identity-based policy allows the "
        "ecr:InitiateLayerUpload action"
    ),
    "bad_credentials": "unauthorized: authentication required",
}


@pytest.mark.parametrize("fault", sorted(FAULT_ERRORS))
def test_edge_fault_shows_in_docker_push(
    fault: str,
    api: docker.APIClient,
    ecr: Any,
    images: Images,
    password: str,
    control: str,
) -> None:
    name = unique_name(fault.replace("_", "-"))
    bystander = unique_name("bystander")
    uri = create_repository(ecr, name)
    bystander_uri = create_repository(ecr, bystander)
    image = images.build(fault)
    images.tag(image, uri, "v1")
    images.tag(image, bystander_uri, "v1")
    reply = requests.put(f"{control}/faults/{name}", json={"fault": fault}, timeout=5)
    assert reply.status_code == 200, reply.text
    try:
        chunks = push(api, uri, "v1", password)
        # Faults are per repository: another repository pushes as usual meanwhile.
        assert errors(push(api, bystander_uri, "v1", password)) == []
    finally:
        requests.delete(f"{control}/faults/{name}", timeout=5).raise_for_status()

    assert errors(chunks) == [FAULT_ERRORS[fault].replace("{name}", name)]
    assert moto_digests(ecr, name) == {}
    # Once cleared, the same push goes through.
    assert errors(push(api, uri, "v1", password)) == []
    assert set(moto_digests(ecr, name)) == {"v1"}


def test_manifest_the_registry_refuses_is_not_left_in_moto(
    ecr: Any, password: str, env: dict[str, str]
) -> None:
    name = unique_name("refused")
    create_repository(ecr, name)
    missing = "sha256:" + "0" * 64
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": missing,
        },
        "layers": [],
    }
    reply = requests.put(
        f"https://{env['ECR_HOST']}/v2/{name}/manifests/v1",
        json=manifest,
        headers={"Content-Type": manifest["mediaType"]},
        auth=("AWS", password),
        # Per request: a REQUESTS_CA_BUNDLE in the environment would override Session.verify.
        verify=env.get("ECR_EDGE_CA_CERT", str(REPO_ROOT / "var/certs/ca.crt")),
        timeout=30,
    )
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert moto_digests(ecr, name) == {}


def test_control_rejects_unknown_fault(control: str) -> None:
    reply = requests.put(f"{control}/faults/whatever", json={"fault": "gremlins"}, timeout=5)
    assert reply.status_code == 400
    assert "whatever" not in requests.get(f"{control}/faults", timeout=5).json()


def test_postgres_accepts_the_test_role(env: dict[str, str]) -> None:
    # SQLAlchemy's URL names the driver; libpq's does not.
    url = env["ECRBOT_TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        connection = psycopg.connect(url, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not up ({error}): run scripts/test-services up")
    with connection:
        row = connection.execute("SELECT current_user, current_database()").fetchone()
    assert row == ("ecrbot", "ecrbot_test")


# -- the second account's registry ------------------------------------------------------------

SECOND_ACCOUNT = "210987654321"


def account_ecr(env: dict[str, str], account: str) -> Any:
    """ECR in `account` (moto keeps accounts apart by the x-moto-account-id header)."""
    return account_session(account).client("ecr", endpoint_url=env["AWS_ENDPOINT_URL"])


def token(ecr: Any) -> tuple[str, str]:
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, secret = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return data["proxyEndpoint"], secret


def test_the_second_account_has_its_own_host_registry_and_repositories(
    api: docker.APIClient, ecr: Any, images: Images, password: str, env: dict[str, str]
) -> None:
    second = account_ecr(env, SECOND_ACCOUNT)
    endpoint, second_password = token(second)
    assert endpoint == f"https://{env['ECR_HOST_2']}"
    assert second_password != password  # each registry takes its own account's token

    name = unique_name("second")
    uri = create_repository(second, name)
    assert uri == f"{env['ECR_HOST_2']}/{name}"
    image = images.build("second")
    images.tag(image, uri, "v1")
    refused = push(api, uri, "v1", password)  # the home account's token
    assert errors(refused) and "unauthorized" in errors(refused)[0].lower()
    chunks = push(api, uri, "v1", second_password)
    assert errors(chunks) == []
    digest = pushed_digest(chunks)
    assert moto_digests(second, name) == {"v1": digest}
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_images(repositoryName=name)  # not the home account's repository

    # The home host doesn't know it: another account's repository, another registry.
    home = requests.get(
        f"https://{env['ECR_HOST']}/v2/{name}/manifests/v1",
        auth=("AWS", password),
        verify=env["ECR_EDGE_CA_CERT"],
        timeout=10,
    )
    assert home.status_code == 404 and "NAME_UNKNOWN" in home.text
    there = requests.head(
        f"https://{env['ECR_HOST_2']}/v2/{name}/manifests/v1",
        auth=("AWS", second_password),
        verify=env["ECR_EDGE_CA_CERT"],
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert there.status_code == 200 and there.headers["Docker-Content-Digest"] == digest
