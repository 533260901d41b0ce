"""What the catalog may say about a build: build args that are not secrets, secrets that are
not the bot's own, stage and platform names. Pure rules; `config.py` applies them at start."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Build args land in the image's history (`docker history --no-trunc` shows them): a name that
# says it holds a credential is refused, whatever its value.
_SECRET_WORDS = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|APIKEY|ACCESSKEY", re.IGNORECASE
)
# Whole words of a name (split at `_`): NPM_AUTH and SSH_KEY, but not AUTHOR or MONKEY.
_SECRET_PARTS = {"KEY", "PASS", "PWD", "PAT", "JWT", "CREDS", "DSN", "AUTH", "COOKIE"}
# Values in the shape of well-known credentials, whatever the name says.
_SECRET_VALUES = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20}|xox[abposr]-[\w-]{10,}"
    r"|xapp-[\w-]{10,}|(?:AKIA|ASIA)[A-Z0-9]{16}|npm_[A-Za-z0-9]{36}|-----BEGIN [A-Z ]{0,30}KEY"
    r"|sk-[A-Za-z0-9_-]{20,}|eyJ[\w-]{10,}\.eyJ[\w-]{10,}"
)
# ecrbot sets these itself: the commit, the version, and BuildKit's own switches.
RESERVED_ARGS = ("GIT_SHA", "VERSION")
ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Build secrets come only from sources made for them (issue #18). An environment variable must
# carry this prefix, so no variable the bot reads for itself can be named by accident or intent.
SECRET_ENV_PREFIX = "ECRBOT_BUILD_SECRET_"  # noqa: S105 (a name prefix, not a password)
# Refused even with the prefix: the families the bot's SDKs read (boto3, Slack, GitHub).
BOT_ENV_PREFIXES = ("AWS_", "SLACK_", "GITHUB_")
SECRET_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
STAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
PLATFORM = re.compile(r"[a-z0-9]{1,32}/[a-z0-9_]{1,32}(?:/[a-z0-9]{1,16})?")


def build_arg_problem(name: str, value: str) -> str | None:
    """Why `name=value` may not be a build arg, or None when it may."""
    if not ARG_NAME.fullmatch(name):
        return "is not a build arg name (letters, digits and _, not starting with a digit)"
    if name.upper() in RESERVED_ARGS or name.upper().startswith("BUILDKIT_"):
        return "is set by ecrbot itself (the commit, the version and BuildKit's switches)"
    parts = set(name.upper().split("_"))
    if _SECRET_WORDS.search(name) or parts & _SECRET_PARTS:
        return (
            "looks like a secret: build args are kept in the image's history; "
            "use `secrets:` (a BuildKit secret mount) instead"
        )
    if _SECRET_VALUES.search(value):
        return (
            "has a value shaped like a credential: build args are kept in the image's history; "
            "use `secrets:` (a BuildKit secret mount) instead"
        )
    return None


def secret_env_problem(name: str, bot_variables: frozenset[str]) -> str | None:
    """Why a secret may not be read from the environment variable `name`, or None.

    `bot_variables` are the variables ecrbot's settings read (upper case), derived from the
    settings model by `config.py`, so a new setting is refused without a list to keep in step.
    """
    if not ENV_NAME.fullmatch(name):
        return "is not an environment variable name"
    upper = name.upper()
    if upper in bot_variables or upper.startswith(BOT_ENV_PREFIXES):
        return (
            "is one of ecrbot's own variables (its settings, AWS, Slack, GitHub): a Dockerfile "
            f"must never read them; give the secret its own `{SECRET_ENV_PREFIX}…` variable"
        )
    if not name.startswith(SECRET_ENV_PREFIX):
        return (
            f"does not start with `{SECRET_ENV_PREFIX}`: build secrets come only from variables "
            "set for builds, never from the rest of the bot's environment"
        )
    return None


def secret_file_problem(resolved: str, root: str | None) -> str | None:
    """Why the file at `resolved` (a realpath) may not be a build secret under the build-secrets
    directory `root` (a realpath; None: not configured), or None when it may."""
    if root is None:
        return (
            "is a file, and file secrets need a build-secrets directory: set "
            "ECRBOT_BUILD_SECRETS_DIR (e.g. a Kubernetes Secret mounted for builds) and put the "
            "file there"
        )
    inside = PurePosixPath(resolved).is_relative_to(PurePosixPath(root))
    if not inside or PurePosixPath(resolved) == PurePosixPath(root):
        return (
            "is outside the build-secrets directory (ECRBOT_BUILD_SECRETS_DIR): a build may "
            f"read only files put there for builds (symlinks are followed: `{resolved}`)"
        )
    return None
