"""Seed moto with a small platform for diagnose: one healthy app and one per failure mode."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bot.domain.iam.trust import PUSH_ACTIONS
from bot.runtime.executors import Concurrency, Executors
from bot.services.diagnose import Diagnoser
from tests.e2e.harness import ACCOUNT, REGION, git, unique

PROVIDER_URL = "https://token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
PUSH = list(PUSH_ACTIONS[1:])

WORKFLOW = """name: push
on:
  push:
    branches: [main]
jobs:
  build-and-push:
    runs-on: ubuntu-latest
{permissions}
    steps:
      - uses: actions/checkout@v4
      - name: Configure AWS Credentials
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: {role}
          aws-region: {region}
      - name: Build and Push
        run: |
          ./scripts/ecr-build-push.sh --registry {account}.dkr.ecr.{region}.amazonaws.com \\
            --name {name} --sha ${{{{ github.sha }}}}
"""
GOOD_PERMISSIONS = "    permissions:\n      id-token: write\n      contents: read"


@dataclass
class SeededApp:
    """One app of the seeded platform: its catalog entry and what is wrong with it."""

    name: str
    github: str
    role_arn: str
    source: Path
    catalog: dict[str, Any] = field(default_factory=dict)


OWNER_ID = 4242  # the seeded apps' owner (acme) as GitHub numbers it


def repository_id(name: str) -> int:
    """A seeded app's repository id: fixed per name, as GitHub's ids are."""
    return 100_000 + zlib.crc32(name.encode()) % 900_000


def trust(
    subject: str | list[str], operator: str = "StringLike", aud: bool = True
) -> dict[str, Any]:
    condition: dict[str, Any] = {operator: {"token.actions.githubusercontent.com:sub": subject}}
    if aud:
        condition.setdefault("StringEquals", {})["token.actions.githubusercontent.com:aud"] = (
            "sts.amazonaws.com"
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }


def push_policy(resource: str, actions: list[str] | None = None) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": actions or PUSH, "Resource": resource},
        ],
    }


def allow_role_on_repository(role_arn: str) -> dict[str, Any]:
    """A repository policy letting one role push (what a cross-account push needs)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PushFromCi", "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": PUSH}
        ],
    }


class MotoSession:
    """boto3 clients that talk to the moto server, with its dummy credentials."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3

        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self._url = endpoint_url

    def client(self, service: str, region_name: str) -> Any:
        return self._session.client(service, region_name=region_name, endpoint_url=self._url)


class Platform:
    """Creates apps in moto (ECR + IAM) and in local git repositories."""

    def __init__(self, session: Any, root: Path) -> None:
        self.ecr = session.client("ecr", region_name=REGION)
        self.iam = session.client("iam", region_name="us-east-1")
        self.session = session
        self.root = root
        try:
            self.iam.create_open_id_connect_provider(
                Url=PROVIDER_URL,
                ClientIDList=["sts.amazonaws.com"],
                ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "EntityAlreadyExists":
                raise

    def app(
        self,
        label: str,
        *,
        permissions: str = GOOD_PERMISSIONS,
        workflow_region: str = REGION,
        repo_region: str | None = REGION,
        immutable: bool = True,
        trust_subject: str | None = None,
        trust_operator: str = "StringLike",
        trust_aud: bool = True,
        policy: dict[str, Any] | None = None,
        role: bool = True,
        trust_document: dict[str, Any] | None = None,
        repository_policy: dict[str, Any] | bool | None = None,
        boundary: dict[str, Any] | bool | None = None,
        role_arn: str | None = None,
    ) -> SeededApp:
        """One app; `repository_policy`/`boundary` True seed ones that allow the push, a dict
        seeds that document; `role_arn` names a role that is not created (another account)."""
        name = unique(label)
        github = f"acme/{name}"
        role_name = f"gha-{name}"
        role_arn = role_arn or f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
        repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
        if repo_region:
            ecr = self.session.client("ecr", region_name=repo_region)
            ecr.create_repository(
                repositoryName=name,
                imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
            )
            if repository_policy:
                document = (
                    repository_policy
                    if isinstance(repository_policy, dict)
                    else allow_role_on_repository(role_arn)
                )
                ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(document))
        if role:
            # Both subject forms by default: without a GITHUB_TOKEN ecrbot can't tell which one
            # the repository presents (immutable subjects, 2026-07-15) and warns on one alone.
            # `{name}` in a given subject is the app's unique name.
            subject = (trust_subject or "").replace("{name}", name) or [
                f"repo:{github}:ref:refs/heads/main",
                f"repo:acme@{OWNER_ID}/{name}@{repository_id(name)}:ref:refs/heads/main",
            ]
            extra: dict[str, Any] = {}
            if boundary:
                document = boundary if isinstance(boundary, dict) else push_policy(repo_arn)
                created = self.iam.create_policy(
                    PolicyName=f"boundary-{name}", PolicyDocument=json.dumps(document)
                )
                extra["PermissionsBoundary"] = created["Policy"]["Arn"]
            self.iam.create_role(
                RoleName=role_name,
                AssumeRolePolicyDocument=json.dumps(
                    trust_document or trust(subject, trust_operator, trust_aud)
                ),
                **extra,
            )
            self.iam.put_role_policy(
                RoleName=role_name,
                PolicyName="push",
                PolicyDocument=json.dumps(policy or push_policy(repo_arn)),
            )
        source = self.root / name
        source.mkdir(parents=True)
        git(source, "init", "--quiet", "--initial-branch=main")
        workflows = source / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "push.yml").write_text(
            WORKFLOW.format(
                permissions=permissions,
                role=role_arn,
                region=workflow_region,
                account=ACCOUNT,
                name=name,
            )
        )
        (source / "Dockerfile").write_text("FROM scratch\n")
        git(source, "add", "-A")
        git(source, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "ci")
        return SeededApp(
            name,
            github,
            role_arn,
            source,
            {
                "source": str(source),
                "github": github,
                "role": role_arn,
            },
        )

    def key_user(self, app: SeededApp) -> str:
        """An IAM user with an active access key that may push to the app's repository."""
        user = unique("ci-user")
        self.iam.create_user(UserName=user)
        self.iam.create_access_key(UserName=user)
        repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{app.name}"
        self.iam.put_user_policy(
            UserName=user, PolicyName="push", PolicyDocument=json.dumps(push_policy(repo_arn))
        )
        return user


def diagnoser_for(
    services: dict[str, str], work_dir: Path, app: SeededApp, github: dict[str, str] | None = None
) -> Diagnoser:
    """The bot's own Diagnoser for one seeded app, on the test services (and with `github`,
    {"GITHUB_API_URL": ..., "GITHUB_TOKEN": ...}, on a GitHub API)."""
    from bot.adapters.aws import EcrRegistry
    from bot.adapters.engine import DockerEngine
    from bot.adapters.source import GitSource
    from bot.bootstrap import build_diagnoser
    from bot.config import Settings
    from bot.config_catalog import Catalog

    catalog = Catalog.model_validate(
        {"registry": {"account_id": ACCOUNT, "region": REGION}, "apps": {app.name: app.catalog}}
    )
    settings = Settings.model_validate(
        {
            "AWS_ENDPOINT_URL": services["AWS_ENDPOINT_URL"],
            "ECRBOT_REGISTRY_CA_BUNDLE": services["ECR_EDGE_CA_CERT"],
            "ECRBOT_WORK_DIR": str(work_dir),
            **(github or {}),
        }
    )
    registry = EcrRegistry(
        catalog.registry_spec,
        endpoint_url=settings.aws_endpoint_url,
        ca_bundle=settings.registry_ca_bundle,
    )
    return build_diagnoser(
        settings,
        catalog,
        DockerEngine,
        lambda: registry,
        GitSource(work_dir / "src"),
        Executors(Concurrency()),
    )
