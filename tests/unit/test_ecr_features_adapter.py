"""The ECR adapters against what moto can't serve, with answers botocore's own ECR model checks.

botocore's Stubber validates every request's parameters and every canned answer against the
installed service model (the real API's shapes): a misspelt `imageStatus`, a filter in the
wrong place or an answer field ECR doesn't have fails here. Shapes read 2026-12-06 from
botocore's ECR model (GetSigningConfiguration, DescribeImageSigningStatus,
DescribeRepositoryCreationTemplates, DescribeImages `filter.imageStatus`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws import EcrRegistry
from bot.adapters.ecr_features import (
    NotServed,
    read_signing_rules,
    read_signing_status,
    read_templates,
    served,
)
from bot.domain.errors import StepError
from bot.domain.models import RegistrySpec
from bot.domain.ports import RepositoryInfo

ACCOUNT, REGION = "123456789012", "eu-west-2"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PROFILE = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/ecrbot_ci"
DIGEST = "sha256:" + "c" * 64


def ecr_client() -> Any:
    return boto3.session.Session().client(
        "ecr", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
    )


class TwoClientSession:
    """A boto3 session stand-in handing out prepared clients in order (EcrRegistry asks for its
    main client, then its feature client): injected, never patched."""

    def __init__(self, *clients: Any) -> None:
        self._clients = list(clients)

    def client(self, service: str, /, **_: Any) -> Any:
        assert service == "ecr"
        return self._clients.pop(0)


@pytest.fixture
def stubbed() -> Iterator[tuple[EcrRegistry, Stubber, Stubber]]:
    main, features = ecr_client(), ecr_client()
    with Stubber(main) as main_stub, Stubber(features) as feature_stub:
        registry = EcrRegistry(
            RegistrySpec(ACCOUNT, REGION),
            session=TwoClientSession(main, features),
            sleep=lambda _: None,
        )
        yield registry, main_stub, feature_stub
        main_stub.assert_no_pending_responses()
        feature_stub.assert_no_pending_responses()


def repo_entry(**extra: Any) -> dict[str, Any]:
    return {
        "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/my-app",
        "registryId": ACCOUNT,
        "repositoryName": "my-app",
        "repositoryUri": f"{HOST}/my-app",
        **extra,
    }


def test_a_repository_with_exclusion_filters(stubbed: tuple[EcrRegistry, Stubber, Stubber]) -> None:
    registry, main, _ = stubbed
    main.add_response(
        "describe_repositories",
        {
            "repositories": [
                repo_entry(
                    imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                    imageTagMutabilityExclusionFilters=[
                        {"filterType": "WILDCARD", "filter": "latest"},
                        {"filterType": "WILDCARD", "filter": "dev-*"},
                    ],
                )
            ]
        },
        {"registryId": ACCOUNT, "repositoryNames": ["my-app"]},
    )
    repo = registry.repository("my-app")
    assert repo.immutable and repo.exclusions == ("latest", "dev-*")
    assert not repo.tag_immutable("latest") and repo.tag_immutable("1.4.0")


TEMPLATE = {
    "prefix": "teams",
    "appliedFor": ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"],
    "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
    "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
    "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "alias/ecr"},
    "lifecyclePolicy": '{"rules": []}',
    "resourceTags": [{"Key": "team", "Value": "web"}],
}


def test_a_missing_repository_that_a_create_on_push_template_covers(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    registry, main, features = stubbed
    main.add_client_error(
        "describe_repositories",
        "RepositoryNotFoundException",
        "The repository with name 'teams/web' does not exist",
        expected_params={"registryId": ACCOUNT, "repositoryNames": ["teams/web"]},
    )
    features.add_response(
        "describe_repository_creation_templates",
        {"registryId": ACCOUNT, "repositoryCreationTemplates": [TEMPLATE]},
        {},
    )
    token = base64.b64encode(b"AWS:secret").decode()
    main.add_response(
        "get_authorization_token",
        {
            "authorizationData": [
                {
                    "authorizationToken": token,
                    "expiresAt": datetime(2030, 1, 1, tzinfo=UTC),
                    "proxyEndpoint": f"https://{HOST}",
                }
            ]
        },
        {"registryIds": [ACCOUNT]},
    )
    repo = registry.repository("teams/web")
    assert repo.uri == f"{HOST}/teams/web"  # the host from ECR's own login answer
    assert repo.template is not None and repo.template.prefix == "teams"
    assert repo.template.needs() == (
        "ecr:CreateRepository",
        "ecr:PutLifecyclePolicy",
        "ecr:TagResource",
    )
    assert not repo.tag_immutable("latest") and repo.tag_immutable("1.0")


def test_a_missing_repository_without_a_template_is_still_an_error(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    registry, main, features = stubbed
    main.add_client_error("describe_repositories", "RepositoryNotFoundException", "no such")
    # A template for replication only does not create on push.
    only_replication = {**TEMPLATE, "appliedFor": ["REPLICATION"]}
    features.add_response(
        "describe_repository_creation_templates",
        {"repositoryCreationTemplates": [only_replication]},
    )
    with pytest.raises(StepError, match="RepositoryNotFoundException"):
        registry.repository("teams/web")


def test_find_image_asks_for_archived_images_and_never_pulls_one(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    registry, main, _ = stubbed
    main.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "imageDigest": DIGEST,
                    "imageTags": ["1a2b3c4"],
                    "imageSizeInBytes": 12,
                    "imageStatus": "ARCHIVED",
                    "lastArchivedAt": datetime(2026, 10, 1, tzinfo=UTC),
                }
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": "my-app",
            "imageIds": [{"imageTag": "1a2b3c4"}],
            "filter": {"imageStatus": "ANY"},
        },
    )
    image = registry.find_image(RepositoryInfo("my-app", f"{HOST}/my-app", True), "1a2b3c4")
    # No registry API call was made: an archived manifest answers 404 (and none is served here).
    assert image is not None and image.status == "ARCHIVED" and image.revision is None


def test_a_tag_naming_the_known_image_is_described_and_its_labels_not_read(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    """The pre-flight of a push ecrbot already made knows the image: no login, no manifest."""
    registry, main, _ = stubbed
    main.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "imageDigest": DIGEST,
                    "imageTags": ["1a2b3c4"],
                    "imageSizeInBytes": 12,
                    "imageStatus": "ACTIVE",
                }
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": "my-app",
            "imageIds": [{"imageTag": "1a2b3c4"}],
            "filter": {"imageStatus": "ANY"},
        },
    )
    repo = RepositoryInfo("my-app", f"{HOST}/my-app", True)
    # No get_authorization_token is stubbed and the host serves nothing: a read would fail.
    image = registry.find_image(repo, "1a2b3c4", known=DIGEST)
    assert image is not None and (image.digest, image.tags, image.size_bytes) == (
        DIGEST,
        ("1a2b3c4",),
        12,
    )
    assert image.status == "ACTIVE" and image.revision is None


def test_the_image_ecrbot_recorded_is_looked_up_archived_included(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    """ecrbot's own last image may have been archived since: the lookup must still see it (and
    say so), or pre-flight and the build cache would act on an image that can't be pulled."""
    registry, main, _ = stubbed
    digest = "sha256:" + "a" * 64
    main.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "imageDigest": digest,
                    "imageTags": ["new"],
                    "imagePushedAt": datetime(2026, 12, 1, tzinfo=UTC),
                    "imageStatus": "ARCHIVED",
                },
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": "my-app",
            "imageIds": [{"imageDigest": digest}],
            "filter": {"imageStatus": "ANY"},
        },
    )
    image = registry.image_by_digest(RepositoryInfo("my-app", f"{HOST}/my-app", True), digest)
    assert image is not None and image.status == "ARCHIVED" and image.tags == ("new",)


def test_signing_status_waits_while_in_progress(
    stubbed: tuple[EcrRegistry, Stubber, Stubber],
) -> None:
    registry, _, features = stubbed
    features.add_response(
        "get_signing_configuration",
        {
            "registryId": ACCOUNT,
            "signingConfiguration": {
                "rules": [
                    {
                        "signingProfileArn": PROFILE,
                        "repositoryFilters": [{"filter": "my-*", "filterType": "WILDCARD_MATCH"}],
                    }
                ]
            },
        },
        {},
    )
    params = {
        "registryId": ACCOUNT,
        "repositoryName": "my-app",
        "imageId": {"imageDigest": DIGEST},
    }
    features.add_response("describe_image_signing_status", {"signingStatuses": []}, params)
    features.add_response(
        "describe_image_signing_status",
        {"signingStatuses": [{"signingProfileArn": PROFILE, "status": "IN_PROGRESS"}]},
        params,
    )
    features.add_response(
        "describe_image_signing_status",
        {
            "signingStatuses": [
                {
                    "signingProfileArn": PROFILE,
                    "status": "FAILED",
                    "failureCode": "AccessDenied",
                    "failureReason": "not authorized to perform signer:SignPayload",
                }
            ]
        },
        params,
    )
    [status] = (
        registry.signing_status(RepositoryInfo("my-app", f"{HOST}/my-app", True), DIGEST) or ()
    )
    assert status.status == "FAILED" and "signer:SignPayload" in status.failure


def test_a_repository_no_signing_rule_covers_is_not_asked_about() -> None:
    ecr = ecr_client()
    with Stubber(ecr) as stub:
        stub.add_response(
            "get_signing_configuration",
            {
                "signingConfiguration": {
                    "rules": [
                        {
                            "signingProfileArn": PROFILE,
                            "repositoryFilters": [
                                {"filter": "prod-*", "filterType": "WILDCARD_MATCH"}
                            ],
                        }
                    ]
                }
            },
        )
        assert read_signing_status(ecr, ACCOUNT, "my-app", DIGEST, wait_s=0) is None
        stub.assert_no_pending_responses()


def test_no_signing_configuration_is_no_rules() -> None:
    ecr = ecr_client()
    with Stubber(ecr) as stub:
        stub.add_client_error(
            "get_signing_configuration", "SigningConfigurationNotFoundException", "none"
        )
        assert read_signing_rules(ecr) == ()


def test_an_endpoint_without_the_api_reads_as_not_served() -> None:
    # moto's answer to operations it lacks: HTTP 500 with an HTML body (code "500").
    ecr = ecr_client()
    with Stubber(ecr) as stub:
        stub.add_client_error("get_signing_configuration", "500", "<html>", http_status_code=500)
        stub.add_client_error(
            "describe_repository_creation_templates", "500", "<html>", http_status_code=500
        )
        assert read_signing_rules(ecr) is None
        assert read_templates(ecr) is None


def test_a_real_server_error_is_not_mistaken_for_a_missing_api() -> None:
    ecr = ecr_client()
    with Stubber(ecr) as stub:
        stub.add_client_error("get_signing_configuration", "ServerException", "try again", 500)
        with pytest.raises(Exception, match="ServerException"):
            read_signing_rules(ecr)
    with pytest.raises(NotServed):
        served(lambda: _raise_html_500(ecr))


def _raise_html_500(ecr: Any) -> None:
    with Stubber(ecr) as stub:
        stub.add_client_error("get_signing_configuration", "500", "<html>", http_status_code=500)
        ecr.get_signing_configuration()
