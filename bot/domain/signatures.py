"""Known error signatures: what a pasted or streamed error means and the runbook's (RB-0023) fix.

The matcher that decides whether a text shows one of them is `bot/domain/matcher.py`. Texts are
templates: `$name` is filled with an extracted detail as a code span (`text.code()`), or with
the signature's plain default when the text did not name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RUNBOOK = "RB-0023 (Push Image Guide)"

# An ECR region: eu-west-2, us-gov-west-1, ap-southeast-1... (no nested quantifiers).
REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]{4,9}-\d"

# RB-0023's "Authentication fails" advice, quoted where it applies.
_RB_PERMISSION = "Verify `id-token: write` permission is present in the workflow (RB-0023)."
_RB_TRUST = (
    "Check that the OIDC Trust Relationship on the IAM Role allows your repository and branch "
    "(RB-0023)."
)
_RB_REGION = "Ensure the `aws-region` matches the registry region (RB-0023)."
_RB_LOGIN = (
    "Log in to the same host you push to (RB-0023 step 2: `aws ecr get-login-password --region "
    "<region> | docker login --username AWS --password-stdin <registry>`)."
)
_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)


@dataclass(frozen=True)
class Signature:
    """A recognisable error: its id, a pattern over one line, and what to tell people."""

    id: str
    pattern: re.Pattern[str]
    title: str
    explanation: str  # a template: $name takes a detail
    fix: str  # a template too
    details: tuple[str, ...] = ()  # the pattern's named groups worth showing
    defaults: dict[str, str] = field(default_factory=dict)  # plain words for a missing detail
    coded: bool = False  # the phrase is an error code: it counts in its code form (matcher)
    # Loose phrases of the same error (`docker engine`): they count only after an error marker.
    loose: re.Pattern[str] | None = None


def _sig(
    id: str,
    pattern: str,
    title: str,
    explanation: str,
    fix: str,
    *,
    coded: bool = False,
    loose: str | None = None,
    **defaults: str,
) -> Signature:
    compiled = re.compile(pattern, re.IGNORECASE)
    return Signature(
        id,
        compiled,
        title,
        explanation,
        fix,
        tuple(compiled.groupindex),
        defaults,
        coded,
        re.compile(loose, re.IGNORECASE) if loose else None,
    )


def least_privilege(resource: str | None) -> str:
    """The smallest IAM statement that lets a role push to one repository (plus the login).

    Whichever push action was denied, a push needs all of them: the statement names them all."""
    repo = resource if resource and resource.startswith("arn:") else "<repository ARN>"
    actions = ", ".join(f'"{a}"' for a in _PUSH_ACTIONS)
    login = '{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}'
    push = f'{{"Effect": "Allow", "Action": [{actions}], "Resource": "{repo}"}}'
    return f"{login}, {push}"


# Order matters: when several match, the earlier one is the better explanation (the cause
# before its symptoms), and `explain()` takes the first.
CATALOGUE: tuple[Signature, ...] = (
    _sig(
        "region_mismatch",
        rf"\d{{12}}\.dkr\.ecr\.(?P<registry_region>{REGION})\.amazonaws\.com",
        "The workflow's region is not the registry's region",
        "The credentials or login are for $configured_region but the registry is in "
        "$registry_region; ECR logins are per region, so the registry turns them away.",
        f"{_RB_REGION} Set the workflow's `aws-region` (and the `--region` of `aws ecr "
        "get-login-password`) to $registry_region, then push again.",
        configured_region="another region",
        registry_region="the registry's region",
    ),
    _sig(
        "token_expired",
        r"authorization token has expired",
        "The ECR login token has expired",
        "ECR tokens last 12 hours and are valid in one region only; "
        "the registry refused an old one.",
        "Authenticate again: `aws ecr get-login-password --region <region> | docker login "
        "--username AWS --password-stdin <registry>`. ecrbot fetches a fresh token per push, "
        "so a retry fixes it; if it keeps happening, check the bot host's clock.",
    ),
    _sig(
        "actions_id_token_missing",
        r"Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable",
        "The workflow job may not request an OIDC token",
        "GitHub only gives a job an OIDC token when the job has `id-token: write`; without it "
        "the AWS credentials action cannot ask for one (pull requests from forks never get it).",
        f"{_RB_PERMISSION} Add `permissions: id-token: write` and `contents: read` to the job "
        "that runs `aws-actions/configure-aws-credentials`.",
    ),
    _sig(
        "no_oidc_provider",
        r"No OpenIDConnect provider found in your account(?: for (?P<provider>https://[\w./-]{1,200}))?",
        "The AWS account has no GitHub OIDC provider",
        "AWS could not find an identity provider for $provider in the role's account, so it "
        "cannot trust GitHub's token.",
        "The account needs the IAM OIDC provider `token.actions.githubusercontent.com` with "
        "audience `sts.amazonaws.com`; ask #platform-team (RB-0023 Support) to add it, and "
        "check that `role-to-assume` names a role in the right account.",
        provider="GitHub's token issuer",
    ),
    _sig(
        "incorrect_token_audience",
        r"Incorrect token audience",
        "The OIDC token's audience is not one AWS accepts",
        "The token GitHub issued names an audience the account's OIDC provider does not list.",
        "The official action uses the audience `sts.amazonaws.com`: it must be in the OIDC "
        "provider's client IDs and in the trust policy's `token.actions.githubusercontent.com:aud`"
        f" condition. {_RB_TRUST}",
    ),
    _sig(
        "assume_role_denied",
        r"Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "The role's trust policy does not accept this workflow",
        "AWS refused to let this GitHub workflow assume the role: the role's trust policy does "
        "not match the token (repository, branch, environment or audience).",
        f"{_RB_TRUST} Run `/ecr diagnose <app>` to compare the trust policy with the workflow's "
        "OIDC subject.",
    ),
    _sig(
        "no_credentials",
        r"Could not load credentials from any providers",
        "The job had no AWS credentials",
        "The AWS SDK found no credentials at all: no role was assumed and no keys were given.",
        f"{_RB_PERMISSION} Then set `role-to-assume` for `aws-actions/configure-aws-credentials` "
        "(RB-0023: Use OIDC, never long-lived IAM keys).",
    ),
    _sig(
        "no_basic_auth",
        r"no basic auth credentials",
        "Docker had no credentials for the registry",
        "The push reached the registry without a login for that exact host.",
        f"{_RB_LOGIN} The region in the login command and in the registry host must match "
        "(`aws-region` in the workflow).",
    ),
    _sig(
        "ecr_action_denied",
        r"not authorized to perform: (?P<action>ecr:[A-Za-z]{1,60})"
        r"(?: on resource: (?P<resource>arn:[\w:/.*-]{1,300}|\*))?",
        "The role may not push to this repository",
        "AWS refused $action for this identity on $resource: its IAM policy does not allow it.",
        "Grant the role only what a push needs, on its own repository (RB-0023: Least "
        "Privilege): $statement. Run `/ecr diagnose <app>` to see the role's policy.",
        action="an ECR push action",
        resource="this repository",
    ),
    _sig(
        "repository_not_found",
        r"name unknown(?:: The repository with name '(?P<repository>[^'\n]{1,256})' does not "
        r"exist(?: in the registry with id '(?P<registry_id>\d{12})')?)?"
        r"|RepositoryNotFoundException",
        "The ECR repository does not exist",
        "The registry has no repository $repository in this account and region.",
        "Check the `repository` in the catalog and the region, or ask #platform-team to create "
        "it: `aws ecr create-repository --repository-name <name> --region <region> "
        "--image-tag-mutability IMMUTABLE`.",
        coded=True,
        repository="with that name",
    ),
    _sig(
        "immutable_tag",
        r"tag invalid: The image tag '(?P<tag>[^'\n]{1,128})' already exists in the "
        r"'(?P<repository>[^'\n]{1,256})' repository and cannot be overwritten because the "
        r"repository is immutable|cannot be overwritten because the repository is immutable"
        r"|ImageTagAlreadyExistsException",
        "That tag already exists and the repository is immutable",
        "Immutable repositories refuse to move a tag, even to the same digest: $tag is taken "
        "in $repository.",
        "Push a new version (or a new commit): tags name one image forever. "
        "That is what 'SHAs over Latest' in the runbook is for.",
        coded=True,
        tag="the tag",
        repository="the repository",
    ),
    _sig(
        "access_denied",
        r"denied: requested access to the resource is denied",
        "The registry refused access to that repository",
        "The image name points at a registry or repository this login may not write to; "
        "often the tag lacks the ECR host, so Docker tries Docker Hub.",
        "Tag the image with the full registry host (RB-0023 step 3: `docker tag my-app:latest "
        f"<account-id>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`), then {_RB_LOGIN}",
        coded=True,
    ),
    _sig(
        "rate_limited",
        r"toomanyrequests|429 Too Many Requests|pull rate limit",
        "A registry rate limit was hit",
        "A registry (usually Docker Hub, for the base image) refused more requests for now.",
        "Pull base images while logged in, or from a mirror or an ECR pull-through cache, and "
        "retry later; RB-0023 has no step for this, so ask #platform-team if it persists.",
        coded=True,
    ),
    _sig(
        "buildx_missing",
        r"BuildKit is enabled but the buildx component is missing or broken",
        "The docker CLI can't build with BuildKit: buildx is missing",
        "From Docker 23.0 on, the `docker` CLI builds with BuildKit only through its buildx "
        "plugin, and this one has none.",
        "Install the buildx plugin (Debian and Ubuntu: `docker-buildx`; Docker's own packages: "
        "`docker-buildx-plugin`). For ecrbot, `ECRBOT_DOCKER_CLI` may instead name a docker "
        "CLI 20.10, which has BuildKit built in.",
    ),
    _sig(
        "buildkit_required",
        r"the --mount option requires BuildKit",
        "The Dockerfile needs BuildKit",
        "`RUN --mount` (cache, secret and bind mounts) is a BuildKit feature; the classic "
        "builder refuses it. ecrbot builds with BuildKit unless the app says `builder: classic`.",
        "Build with BuildKit (`DOCKER_BUILDKIT=1 docker build .` or `docker buildx build .`); "
        "for ecrbot, remove `builder: classic` from the app in the catalog.",
    ),
    _sig(
        "target_missing",
        r"(?:target stage \"?|failed to reach build target )(?P<target>[A-Za-z0-9_.-]{1,128})\"?"
        r"(?: could not be found| in Dockerfile)",
        "The Dockerfile has no stage of that name",
        "The build was asked for the stage $target (`--target`), and the Dockerfile at this "
        "commit has no `FROM ... AS` of that name.",
        "Name the stage in the Dockerfile (`FROM <image> AS <name>`), or fix `target` for the "
        "app in the catalog (ecrbot) or `--target` (runbook step 1).",
        target="you asked for",
    ),
    _sig(
        "copy_source_missing",
        r"(?:failed to compute cache key: (?:failed to calculate checksum of ref \S{1,200}: )?"
        r"|COPY failed: file not found in build context or excluded by \.dockerignore: stat )"
        r"\"?(?P<path>[^\"\n:]{1,300})\"?:? (?:not found|file does not exist)",
        "A file the Dockerfile copies is not in the build context",
        "`COPY` or `ADD` names $path, which the build context does not hold: it is not in the "
        "repository at this commit, lies outside the build context, or `.dockerignore` leaves "
        "it out.",
        "Check the path against the repository at this commit and the build context (`context` "
        "in ecrbot's catalog), and that `.dockerignore` does not exclude it; ecrbot honours "
        "`.dockerignore` as `docker build` does.",
        path="a path",
    ),
    _sig(
        "exec_format_error",
        r"exec /[^\s:]{1,200}: exec format error"
        r"|(?:standard_init_linux\.go:\d{1,6}: )?exec user process caused:? \"?exec format error",
        "A RUN step ran a program built for another platform",
        "The build runs a program for a CPU the engine's host does not have (e.g. an arm64 "
        "base image on an amd64 host); without emulation the kernel refuses it.",
        "Build for the engine's own platform (ecrbot: remove `platforms`, or route the app to "
        "workers of that architecture with `queue`), or install QEMU emulation on the engine's "
        "host (Debian: `qemu-user-static` with `binfmt-support`).",
    ),
    _sig(
        "registry_unauthorized",
        r"unauthorized: |authentication required|incorrect username or password",
        "The registry refused the credentials",
        "The registry did not accept the login: wrong account, wrong region or a token for "
        "another registry.",
        "Make sure the token comes from the registry's own region and account "
        "(`aws ecr get-login-password --region <region>`), then push again.",
        coded=True,
    ),
    _sig(
        "run_step_failed",
        r"returned a non-zero code|executor failed running"
        r"|did not complete successfully: exit code",
        "A RUN step in the Dockerfile failed",
        "A command in the Dockerfile exited with an error; the build log below shows which.",
        "Reproduce it at the same commit with `docker build .` (runbook step 1) and fix the "
        "Dockerfile or the code it builds, then push a new commit.",
    ),
    _sig(
        "dockerfile_missing",
        r"Cannot locate specified Dockerfile|unable to prepare context",
        "The Dockerfile was not found",
        "The build context has no Dockerfile at the path the catalog names.",
        "Check `dockerfile` and `context` for this app in the catalog against the repository.",
        loose=r"Dockerfile[^\n]{0,100}not found",
    ),
    _sig(
        "engine_unreachable",
        r"Error while fetching server API version"
        r"|Connection (?:refused|aborted|broken)|Cannot connect to the Docker daemon",
        "The Docker engine is unreachable",
        "ecrbot could not talk to the Docker engine that builds images.",
        "Check that dockerd is running and that `DOCKER_HOST` points at it "
        "(`docker info` on the bot's host), then retry.",
        loose=r"docker engine|docker\.sock",
    ),
)

BY_ID: dict[str, Signature] = {signature.id: signature for signature in CATALOGUE}
