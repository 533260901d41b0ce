"""`ecrbot console --sandbox`: a small platform in moto and local git, and a catalog for it.

- `hello-web` is healthy: its workflow gets `id-token: write`, its role trusts its own repo and
  may push its repository only, and the repository is compliant for its risk tier.
- `billing-api` is broken as diagnose's runbook knows it: the job has no `id-token: write`,
  the role trusts another repository, an IAM user with an access key can push, and the
  repository (high risk) has mutable tags and no scanning or lifecycle policy.
- `legacy-batch` is a repository with no app, a mutable `latest` and untagged images.

Seeding is idempotent, so it can go into the test services' long-lived moto as well as a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.bootstrap.sandbox import SandboxAdapters, SandboxPlatform
from bot.config import Settings
from bot.domain.iam.trust import PUSH_ACTIONS as IAM_PUSH_ACTIONS
from bot.entrypoints.console.backends import Backend, SandboxError, choose
from bot.entrypoints.console.sample_apps import sample_app

ACCOUNT, REGION = "123456789012", "eu-west-2"
HEALTHY, BROKEN, ORPHAN = "hello-web", "billing-api", "legacy-batch"
# The GitHub ids of the sandbox's organization and repositories (its immutable OIDC subjects).
OWNER_ID = 1342004
REPO_IDS = {HEALTHY: 70010001, BROKEN: 70010002, "billing-web": 70010003}
ADMIN, DEVELOPER, WEB_TEAM = "U0ALICE", "U0BOB", "S0WEB"
NAMES = {ADMIN: "alice", DEVELOPER: "bob", WEB_TEAM: "web-team"}
GROUPS = {WEB_TEAM: [DEVELOPER]}
PROVIDER = "token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{PROVIDER}"
# The layer and image actions a push needs (GetAuthorizationToken is granted on "*" apart).
PUSH_ACTIONS = list(IAM_PUSH_ACTIONS[1:])
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        }
    ]
}


@dataclass
class Sandbox:
    """The seeded platform, the settings that point the bot at it, and how to tear it down."""

    root: Path
    settings: Settings
    backend: Backend
    shas: dict[str, str]
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=lambda: dict(NAMES))
    groups: dict[str, list[str]] = field(default_factory=lambda: dict(GROUPS))
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self._cleanup):
            step()
        self._cleanup.clear()


def start(work_dir: Path | None = None, adapters: SandboxAdapters | None = None) -> Sandbox:
    """Pick the backend, seed it, write the catalog; the caller closes the sandbox."""
    adapters = adapters or SandboxAdapters()
    temporary = work_dir is None
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ecrbot-sandbox-", dir=work_dir))
    notes: list[str] = []
    backend = choose(notes, adapters)
    sandbox = Sandbox(root, Settings(), backend, {}, notes)
    sandbox._cleanup.append(backend.stop)
    if temporary:
        sandbox._cleanup.insert(0, lambda: shutil.rmtree(root, ignore_errors=True))
    try:
        _aws_environment(backend.endpoint_url)
        aws = adapters.platform(backend.endpoint_url, REGION)  # moto's credentials: the environment
        apps = seed(aws, root / "src", backend.busybox, sandbox.shas)
        repositories = [str(app.get("repository") or name) for name, app in apps.items()]
        sandbox._cleanup.append(backend.route(repositories))
        catalog = root / "ecrbot.yml"
        catalog.write_text(yaml.safe_dump(_catalog(apps), sort_keys=False))
    except BaseException as error:
        sandbox.close()
        if isinstance(error, Exception) and not isinstance(error, SandboxError):
            why = f"{type(error).__name__}: {error}"
            raise SandboxError(f"seeding the sandbox failed: {why}") from error
        raise
    sandbox.settings = Settings().model_copy(
        update={
            "config_path": catalog,
            "database_url": f"sqlite:///{root}/ecrbot.db",
            "work_dir": root / "work",
            "aws_endpoint_url": backend.endpoint_url,
            "docker_host": backend.docker_host,
            "registry_ca_bundle": backend.ca_bundle,
            "progress_interval_s": 1.0,
        }
    )
    return sandbox


def _aws_environment(endpoint_url: str) -> None:
    """Every boto3 client in this process talks to the sandbox's moto, never to real AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint_url,
        }
    )


def _catalog(apps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "registry": {"account_id": ACCOUNT, "region": REGION},
        "slack": {"channel": "C0SANDBOX", "admins": [ADMIN]},
        "apps": apps,
    }


def seed(
    aws: SandboxPlatform, src: Path, busybox: Path | None, shas: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Create the platform in AWS (moto) and git; returns the catalog's apps."""
    aws.oidc_provider(
        f"https://{PROVIDER}", "sts.amazonaws.com", "6938fd4d98bab03faadb97b34396831e3780aea1"
    )
    apps: dict[str, dict[str, Any]] = {}
    for name, healthy in ((HEALTHY, True), (BROKEN, False)):
        role = _role(aws, name, trusted=name if healthy else "billing-web")
        aws.repository(name, compliant=healthy, lifecycle=LIFECYCLE)
        permissions = ("      id-token: write\n" if healthy else "") + "      contents: read"
        shas[name] = sample_app(src / name, name, role, REGION, permissions, busybox)
        apps[name] = {
            "source": str(src / name),
            "github": f"acme/{name}",
            "role": role,
            "pushers": [WEB_TEAM] if healthy else [DEVELOPER],
            "risk": "low" if healthy else "high",
        }
    aws.image(BROKEN, image_manifest("billing-1"), "1.0.0")
    aws.repository(ORPHAN, compliant=False, lifecycle=LIFECYCLE)
    for n in range(2):
        aws.image(ORPHAN, image_manifest(f"legacy-{n}"), None)
    aws.image(ORPHAN, image_manifest("legacy-latest"), "latest")
    # A CI user with a long-lived access key that can push: what diagnose and report flag.
    aws.key_user("ci-legacy", _push_policy(BROKEN))
    return apps


def _role(aws: SandboxPlatform, app: str, trusted: str) -> str:
    name = f"gha-{app}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{PROVIDER}:aud": "sts.amazonaws.com"},
                    # Both forms GitHub may present (issue #15): the name-only subject and the
                    # immutable one repositories created or renamed since 2026-07-15 present.
                    "StringLike": {
                        f"{PROVIDER}:sub": [
                            f"repo:acme/{trusted}:ref:refs/heads/main",
                            f"repo:acme@{OWNER_ID}/{trusted}@{REPO_IDS.get(trusted, 0)}"
                            ":ref:refs/heads/main",
                        ]
                    },
                },
            }
        ],
    }
    aws.role(name, json.dumps(trust), _push_policy(app))
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _push_policy(app: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": PUSH_ACTIONS,
                    "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{app}",
                },
            ],
        }
    )


def image_manifest(seed: str, size: int = 3_000_000) -> str:
    """A Docker v2 image manifest whose digests derive from `seed`: one distinct image per seed.

    ECR's metadata is all the report and diagnose read, so no layer needs to exist."""

    def digest(part: str) -> str:
        return "sha256:" + hashlib.sha256(f"sandbox:{seed}:{part}".encode()).hexdigest()

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 600,
                "digest": digest("config"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": size,
                    "digest": digest("layer"),
                }
            ],
        }
    )
