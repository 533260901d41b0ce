"""The console sandbox's platform in AWS (moto): the calls that create it, idempotently.

What the platform holds (which app is healthy, which documents) is the sandbox's
(`entrypoints/console/sandbox.py`); this adapter only makes the calls, so boto3 stays here.
Every call takes "already exists" as done: the seed may run again on a long-lived moto.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError


class SandboxAws:
    """ECR and IAM clients on one endpoint; credentials come from the environment (moto's)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        session = boto3.session.Session(region_name=region)
        self._ecr = session.client("ecr", region_name=region, endpoint_url=endpoint_url)
        # IAM is global: its endpoint's region is us-east-1 whatever the registry's.
        self._iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint_url)

    def oidc_provider(self, url: str, audience: str, thumbprint: str) -> None:
        _ok(
            self._iam.create_open_id_connect_provider,
            Url=url,
            ClientIDList=[audience],
            ThumbprintList=[thumbprint],
        )

    def role(self, name: str, trust: str, policy: str) -> None:
        """A role with this trust policy and one inline policy, both replaced if it exists."""
        _ok(self._iam.create_role, RoleName=name, AssumeRolePolicyDocument=trust)
        self._iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        self._iam.put_role_policy(RoleName=name, PolicyName="push", PolicyDocument=policy)

    def repository(self, name: str, compliant: bool, lifecycle: dict[str, Any]) -> None:
        """Immutable, scanned on push and with `lifecycle` when compliant; else none of those."""
        _ok(self._ecr.create_repository, repositoryName=name)
        mutability = "IMMUTABLE" if compliant else "MUTABLE"
        self._ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability=mutability)
        self._ecr.put_image_scanning_configuration(
            repositoryName=name, imageScanningConfiguration={"scanOnPush": compliant}
        )
        if compliant:
            self._ecr.put_lifecycle_policy(
                repositoryName=name, lifecyclePolicyText=json.dumps(lifecycle)
            )

    def image(self, repository: str, manifest: str, tag: str | None) -> None:
        """An image in ECR only, scanned when tagged."""
        extra = {"imageTag": tag} if tag else {}
        _ok(self._ecr.put_image, repositoryName=repository, imageManifest=manifest, **extra)
        if tag:
            _ok(self._ecr.start_image_scan, repositoryName=repository, imageId={"imageTag": tag})

    def key_user(self, user: str, policy: str) -> None:
        """An IAM user with one access key and this inline policy."""
        _ok(self._iam.create_user, UserName=user)
        if not self._iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            self._iam.create_access_key(UserName=user)
        self._iam.put_user_policy(UserName=user, PolicyName="push", PolicyDocument=policy)


def _ok(call: Callable[..., Any], **kwargs: Any) -> Any:
    """Call AWS, taking "already exists" as done (the seed runs again on a long-lived moto)."""
    try:
        return call(**kwargs)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if "AlreadyExists" in code or code == "LimitExceededException":  # scanned already
            return None
        raise
