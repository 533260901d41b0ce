"""`EcrDigests`: which digest a tag names, from ECR's `BatchGetImage` (a fake client handed in):
found, not found, a digest that differs, a missing repository said plainly, other refusals;
reads started ahead (`prefetch`) answer once, for the person they were started for.
`EcrLogins`: a copy's registry login, kept until shortly before it expires."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bot.adapters.ecr_digests import MEDIA_TYPES, EcrDigests, EcrLogins
from bot.domain.environments import HOME, NamedRegistry
from bot.domain.on_behalf import OnBehalf, current_on_behalf
from bot.domain.promotion import CopyFailed, ImageRef, RepositoryMissing

HOME_REGISTRY = NamedRegistry(HOME, "123456789012", "eu-west-2")
PROD = NamedRegistry("prod", "210987654321", "eu-west-2", "arn:aws:iam::210987654321:role/r")
DIGEST = "sha256:" + "a" * 64


def refused(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "BatchGetImage")


class FakeEcr:
    """BatchGetImage over a map of (repository, tag or digest) -> digest."""

    def __init__(self, images: dict[tuple[str, str], str], repositories: set[str]) -> None:
        self.images, self.repositories = images, repositories
        self.calls: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()

    def batch_get_image(self, **asked: Any) -> dict[str, Any]:
        self.gate.wait(5)
        self.calls.append(asked)
        if self.fail is not None:
            raise self.fail
        if asked["repositoryName"] not in self.repositories:
            raise refused(
                "RepositoryNotFoundException",
                f"The repository with name '{asked['repositoryName']}' does not exist",
            )
        (image_id,) = asked["imageIds"]
        wanted = image_id.get("imageTag") or image_id.get("imageDigest")
        digest = self.images.get((asked["repositoryName"], wanted))
        if digest is None:
            failure = {"imageId": image_id, "failureCode": "ImageNotFound"}
            return {"images": [], "failures": [failure]}
        return {"images": [{"imageId": {**image_id, "imageDigest": digest}}], "failures": []}


def reader(ecr: FakeEcr, seen: list[tuple[str, OnBehalf | None]] | None = None) -> EcrDigests:
    def client(named: NamedRegistry) -> FakeEcr:
        if seen is not None:
            seen.append((named.name, current_on_behalf.get()))
        return ecr

    return EcrDigests(client)


def test_a_tag_is_read_in_its_registry_asking_for_every_manifest_type() -> None:
    ecr = FakeEcr({("my-app", "1.0.0"): DIGEST}, {"my-app"})
    assert reader(ecr).digest(ImageRef(PROD, "my-app", "1.0.0")) == DIGEST
    (call,) = ecr.calls
    assert call["registryId"] == PROD.account_id and call["imageIds"] == [{"imageTag": "1.0.0"}]
    assert call["acceptedMediaTypes"] == MEDIA_TYPES  # an index is named as it is stored


def test_a_digest_is_read_by_digest() -> None:
    ecr = FakeEcr({("my-app", DIGEST): DIGEST}, {"my-app"})
    assert reader(ecr).digest(ImageRef(PROD, "my-app", DIGEST)) == DIGEST
    assert ecr.calls[0]["imageIds"] == [{"imageDigest": DIGEST}]


def test_a_tag_not_found_is_none() -> None:
    ecr = FakeEcr({}, {"my-app"})
    assert reader(ecr).digest(ImageRef(PROD, "my-app", "9.9.9")) is None


def test_a_tag_holding_another_digest_answers_that_digest() -> None:
    other = "sha256:" + "b" * 64
    ecr = FakeEcr({("my-app", "1.0.0"): other}, {"my-app"})
    assert reader(ecr).digest(ImageRef(PROD, "my-app", "1.0.0")) == other


def test_a_missing_repository_is_said_plainly() -> None:
    ecr = FakeEcr({}, set())
    with pytest.raises(RepositoryMissing) as missing:
        reader(ecr).digest(ImageRef(PROD, "my-app", "1.0.0"))
    assert str(missing.value) == f"The registry prod ({PROD.host}) has no repository my-app."


def test_other_refusals_fail_the_read_in_ecr_words() -> None:
    ecr = FakeEcr({}, {"my-app"})
    ecr.fail = refused("AccessDeniedException", "not authorized to perform ecr:BatchGetImage")
    with pytest.raises(CopyFailed, match="AccessDeniedException: not authorized"):
        reader(ecr).digest(ImageRef(PROD, "my-app", "1.0.0"))
    ecr.fail = EndpointConnectionError(endpoint_url="https://api.ecr.eu-west-2.amazonaws.com")
    with pytest.raises(CopyFailed, match="ECR unreachable"):
        reader(ecr).digest(ImageRef(PROD, "my-app", "1.0.0"))


def test_a_prefetched_read_answers_once_for_the_person_it_was_started_for() -> None:
    ecr = FakeEcr({("my-app", "1.0.0"): DIGEST}, {"my-app"})
    seen: list[tuple[str, OnBehalf | None]] = []
    digests = reader(ecr, seen)
    who = OnBehalf("U0ALICE", "my-app", "promote-prod")
    source, target = ImageRef(HOME_REGISTRY, "my-app", "1.0.0"), ImageRef(PROD, "my-app", "1.0.0")
    ecr.gate.clear()  # both reads are under way before either answers
    token = current_on_behalf.set(who)
    try:
        digests.prefetch(source, target)
    finally:
        current_on_behalf.reset(token)
    ecr.gate.set()
    assert digests.digest(target) == DIGEST and digests.digest(source) == DIGEST
    assert sorted(seen) == [(HOME, who), ("prod", who)]  # in the requester's context
    assert len(ecr.calls) == 2
    digests.digest(target)  # taken once: a later read asks ECR again
    assert len(ecr.calls) == 3


def test_a_prefetched_refusal_is_raised_to_the_reader() -> None:
    ecr = FakeEcr({}, set())
    digests = reader(ecr)
    digests.prefetch(ImageRef(PROD, "my-app", "1.0.0"))
    with pytest.raises(RepositoryMissing):
        digests.digest(ImageRef(PROD, "my-app", "1.0.0"))


class TokenEcr:
    """GetAuthorizationToken: a new password per call, expiring when told."""

    def __init__(self, expires: datetime) -> None:
        self.expires, self.calls = expires, 0

    def get_authorization_token(self, registryIds: list[str]) -> dict[str, Any]:
        self.calls += 1
        token = base64.b64encode(f"AWS:{registryIds[0]}-{self.calls}".encode()).decode()
        return {"authorizationData": [{"authorizationToken": token, "expiresAt": self.expires}]}


def test_a_login_is_kept_until_shortly_before_it_expires() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock = [now]
    ecr = TokenEcr(now + timedelta(hours=12))
    login = EcrLogins(lambda named: ecr, clock=lambda: clock[0])
    image = ImageRef(PROD, "my-app", "1.0.0")
    assert login(image) == ("AWS", f"{PROD.account_id}-1")
    assert login(image) == ("AWS", f"{PROD.account_id}-1") and ecr.calls == 1
    clock[0] = now + timedelta(hours=11, minutes=56)  # within the margin: a new one
    assert login(image) == ("AWS", f"{PROD.account_id}-2")


def test_a_refused_login_names_the_registry_in_ecr_words() -> None:
    class Refusing:
        def get_authorization_token(self, **asked: Any) -> dict[str, Any]:
            raise refused("AccessDeniedException", "not authorized: ecr:GetAuthorizationToken")

    with pytest.raises(CopyFailed) as failed:
        EcrLogins(lambda named: Refusing())(ImageRef(PROD, "my-app", "1.0.0"))
    assert str(failed.value) == (
        f"no ECR login for {PROD.host}: AccessDeniedException: not authorized: "
        "ecr:GetAuthorizationToken"
    )
