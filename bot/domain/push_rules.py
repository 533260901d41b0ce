"""What a push may ask for, and what the image it makes is tagged and labelled with."""

from __future__ import annotations

import re
from datetime import datetime

from bot.domain.errors import UsageError
from bot.domain.models import SHA_PATTERN, AppSpec
from bot.domain.text import code

# Docker's reference grammar for a tag.
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
REVISION_LABEL = "org.opencontainers.image.revision"


def plan_tags(app: AppSpec, full_sha: str, version: str | None) -> tuple[str, ...]:
    """The tags a push gets: the SHA first, then the version, `latest` only when opted in."""
    tags = [full_sha if app.sha_tag == "full" else full_sha[:7]]
    if version:
        tags.append(version)
    if app.tag_latest and "latest" not in tags:
        tags.append("latest")
    return tuple(dict.fromkeys(tags))


def validate_sha(sha: str) -> None:
    """Only a commit id counts as a SHA: refs (`main`, `HEAD~1`) and `latest` never do."""
    if not SHA_PATTERN.fullmatch(sha):
        raise UsageError(
            f"{code(sha)} is not a git SHA.",
            "Give 7 to 40 lowercase hex characters, e.g. `git rev-parse --short HEAD`.",
        )


def validate_version(app: AppSpec, version: str | None) -> None:
    """Refuse versions Docker can't use as a tag, and `latest` unless the app opts in."""
    if version is None:
        return
    if not TAG_PATTERN.fullmatch(version):
        raise UsageError(
            f"{code(version)} is not a valid image tag.",
            "Use letters, digits, `.`, `_` and `-` (at most 128), e.g. `1.4.0`.",
        )
    if version == "latest" and not app.tag_latest:
        raise UsageError(
            "`latest` is not a version: the runbook says SHAs over latest.",
            f"Give a real version, or set `tag_latest: true` for {code(app.name)} in the catalog.",
        )


def oci_labels(
    app: AppSpec, full_sha: str, version: str | None, created: datetime
) -> dict[str, str]:
    """The OCI annotation labels every image gets."""
    return {
        REVISION_LABEL: full_sha,
        "org.opencontainers.image.version": version or full_sha[:7],
        "org.opencontainers.image.source": public_source(app),
        "org.opencontainers.image.created": created.isoformat(timespec="seconds"),
    }


def public_source(app: AppSpec) -> str:
    """The app's source as a URL safe to publish: GitHub's page, or the source minus credentials."""
    if app.github:
        return f"https://github.com/{app.github}"
    return re.sub(r"//[^/@]*@", "//", app.source)
