"""The two forms of the `repo:` part of GitHub's OIDC subject, and which one a repository gets.

GitHub Changelog, "Immutable subject claims for GitHub Actions OIDC tokens" (2026-04-23, edited
2026-06-10 for the `@` delimiter; read 2026-10,
https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens/)
and docs.github.com "OpenID Connect reference" > "Immutable subject claims"
(https://docs.github.com/en/actions/reference/security/oidc#immutable-subject-claims):

- name-only: `repo:OWNER/REPO:...`, what repositories created before the change present;
- immutable: `repo:OWNER@OWNER_ID/REPO@REPO_ID:...`, for repositories created, renamed or
  transferred on or after 2026-07-15, and for any repository or organization that opted in
  (github.com only, not GHES). The changelog first said 2026-06-18 and a `-` delimiter; the
  docs and the changelog's edit say 2026-07-15 and `@`, which is what runs present.

`GET /repos/{owner}/{repo}/actions/oidc/customization/sub` (API version 2026-03-10) answers
`use_immutable_subject` and `sub_claim_prefix`. The prefix is the authority: Azure/azure-dev#9382
shows a repository answering `use_immutable_subject: false` with the prefix
`repo:vhvb1989@24213737/ppconfig@1323153730`, and its runs presented that prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

IMMUTABLE_SINCE = "2026-07-15"
NAME_ONLY, IMMUTABLE = "name-only", "immutable"
# GitHub names: letters, digits, `-`, `_`, `.`; an `@` never appears in one, so it delimits.
_PREFIX = re.compile(
    r"^repo:([A-Za-z0-9_.-]{1,100})(?:@(\d{1,20}))?/([A-Za-z0-9_.-]{1,100})(?:@(\d{1,20}))?$"
)
OWNER_ID, REPO_ID = "<owner-id>", "<repo-id>"  # placeholders when no token says


def checked_prefix(value: object) -> str:
    """GitHub's `sub_claim_prefix`, validated: `repo:OWNER[@ID]/REPO[@ID]`."""
    match = _PREFIX.fullmatch(value) if isinstance(value, str) else None
    if match is None or bool(match.group(2)) != bool(match.group(4)):
        raise ValueError(f"not a subject prefix repo:OWNER[@ID]/REPO[@ID]: {str(value)[:80]!r}")
    return str(value)


def prefix_ids(prefix: str) -> tuple[str, str] | None:
    """(owner id, repository id) an immutable prefix carries, else None."""
    match = _PREFIX.fullmatch(prefix)
    if match is None or not match.group(2):
        return None
    return match.group(2), match.group(4)


def form_of(prefix: str) -> str:
    """Which form a `repo:` part is (an `@` never appears in a GitHub name)."""
    return IMMUTABLE if "@" in prefix else NAME_ONLY


def name_only(repo: str) -> str:
    """`repo:OWNER/REPO` for "owner/repo"."""
    return f"repo:{repo}"


def immutable(repo: str, owner_id: str, repo_id: str) -> str:
    """`repo:OWNER@OWNER_ID/REPO@REPO_ID` for "owner/repo"."""
    owner, name = repo.split("/", 1)
    return f"repo:{owner}@{owner_id}/{name}@{repo_id}"


def ids_in_policy(repo: str, patterns: Sequence[str]) -> tuple[str, str] | None:
    """The owner and repository IDs a trust policy writes for `repo` (`repo:org@1/app@2...`):
    without a token they are the best guess of the immutable form, checked by `gh api`."""
    owner, name = (re.escape(part) for part in repo.split("/", 1))
    wanted = re.compile(rf"^repo:{owner}@(\d{{1,20}})/{name}@(\d{{1,20}})(?::|$)")
    for pattern in patterns:
        found = wanted.match(pattern)
        if found:
            return found.group(1), found.group(2)
    return None


def candidate_prefixes(
    repo: str, known: str | None, claims: Mapping[str, str], patterns: Sequence[str]
) -> tuple[str, ...]:
    """The `repo:` parts a job may present: GitHub's answer when ecrbot read it, else both forms
    (the immutable one with the IDs GitHub's record or the policy gives, else placeholders)."""
    if known:
        return (known,)
    ids = None
    if "repository_owner_id" in claims and "repository_id" in claims:
        ids = claims["repository_owner_id"], claims["repository_id"]
    ids = ids or ids_in_policy(repo, patterns) or (OWNER_ID, REPO_ID)
    return name_only(repo), immutable(repo, *ids)


def how_to_find(repo: str) -> str:
    """The commands that tell which form and which IDs a repository has."""
    return (
        f"`gh api repos/{repo}/actions/oidc/customization/sub` (its `sub_claim_prefix` is the "
        f"form GitHub presents) and `gh api repos/{repo} --jq '.owner.id, .id'` (the IDs)"
    )
