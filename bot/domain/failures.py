"""The failure catalogue: raw Docker/ECR error text mapped to plain words and the runbook's fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.models import Failure, Step
from bot.domain.text import plain

RUNBOOK = "RB-0023 (Push Image Guide)"


@dataclass(frozen=True)
class KnownFailure:
    """A recognisable error: a pattern over the raw text and what to tell people."""

    pattern: re.Pattern[str]
    title: str
    explanation: str
    fix: str


def _known(pattern: str, title: str, explanation: str, fix: str) -> KnownFailure:
    return KnownFailure(re.compile(pattern, re.IGNORECASE | re.DOTALL), title, explanation, fix)


# Order matters: the first match wins, so specific patterns come before broad ones.
CATALOGUE: tuple[KnownFailure, ...] = (
    _known(
        r"authorization token has expired",
        "The ECR login token has expired",
        "ECR tokens last 12 hours and are valid in one region only; "
        "the registry refused an old one.",
        "Authenticate again: `aws ecr get-login-password --region <region> | docker login "
        "--username AWS --password-stdin <registry>`. ecrbot fetches a fresh token per push, "
        "so a retry fixes it; if it keeps happening, check the bot host's clock.",
    ),
    _known(
        r"no basic auth credentials",
        "Docker had no credentials for the registry",
        "The push reached the registry without a login for that exact host.",
        "Log in to the same host you push to (runbook step 2). The region in the login "
        "command and in the registry host must match (`aws-region` in the workflow).",
    ),
    _known(
        r"not authorized to perform: (ecr:[A-Za-z]+)",
        "The role may not push to this repository",
        "AWS refused an ECR push action for this identity: its IAM policy does not allow it "
        "on this repository.",
        "Grant the push actions on the repository's ARN to the pushing role: "
        "`ecr:GetAuthorizationToken` (on `*`), `ecr:BatchCheckLayerAvailability`, "
        "`ecr:InitiateLayerUpload`, `ecr:UploadLayerPart`, `ecr:CompleteLayerUpload`, "
        "`ecr:PutImage`. Run `/ecr diagnose <app>` to see the role's policy.",
    ),
    _known(
        r"name unknown|repository with name .* does not exist|RepositoryNotFoundException",
        "The ECR repository does not exist",
        "The registry has no repository with that name in this account and region.",
        "Check the `repository` in the catalog and the region, or ask #platform-team to create "
        "it: `aws ecr create-repository --repository-name <name> --region <region> "
        "--image-tag-mutability IMMUTABLE`.",
    ),
    _known(
        r"tag invalid.*immutable|cannot be overwritten because the repository is immutable"
        r"|ImageTagAlreadyExistsException",
        "That tag already exists and the repository is immutable",
        "Immutable repositories refuse to move a tag, even to the same digest.",
        "Push a new version (or a new commit): tags name one image forever. "
        "That is what 'SHAs over latest' in the runbook is for.",
    ),
    _known(
        r"unauthorized: |authentication required|incorrect username or password",
        "The registry refused the credentials",
        "The registry did not accept the login: wrong account, wrong region or a token for "
        "another registry.",
        "Make sure the token comes from the registry's own region and account "
        "(`aws ecr get-login-password --region <region>`), then push again.",
    ),
    _known(
        r"returned a non-zero code|executor failed running",
        "A RUN step in the Dockerfile failed",
        "A command in the Dockerfile exited with an error; the build log below shows which.",
        "Reproduce it at the same commit with `docker build .` (runbook step 1) and fix the "
        "Dockerfile or the code it builds, then push a new commit.",
    ),
    _known(
        r"Cannot locate specified Dockerfile|unable to prepare context|Dockerfile.*not found",
        "The Dockerfile was not found",
        "The build context has no Dockerfile at the path the catalog names.",
        "Check `dockerfile` and `context` for this app in the catalog against the repository.",
    ),
    _known(
        r"docker engine|Error while fetching server API version|docker\.sock"
        r"|Connection (refused|aborted|broken)|Cannot connect to the Docker daemon",
        "The Docker engine is unreachable",
        "ecrbot could not talk to the Docker engine that builds images.",
        "Check that dockerd is running and that `DOCKER_HOST` points at it "
        "(`docker info` on the bot's host), then retry.",
    ),
)


def token_expired(raw: str) -> bool:
    """Whether the registry refused a login token for being too old (a new one will do)."""
    return CATALOGUE[0].pattern.search(raw) is not None


GENERIC_FIX = f"Check the log lines below; the runbook is {RUNBOOK}. Ask #platform-team if stuck."


def explain(step: Step | None, raw: str, log_tail: tuple[str, ...] = ()) -> Failure:
    """Turn raw error text from a step into a Failure with plain words and a fix."""
    for known in CATALOGUE:
        if known.pattern.search(raw):
            return Failure(step, known.title, known.explanation, known.fix, log_tail)
    first_line = plain(raw.strip().splitlines()[0]) if raw.strip() else "no detail given"
    where = f"The {step.value} step" if step else "The job"
    return Failure(step, f"{where} failed", first_line, GENERIC_FIX, log_tail)
