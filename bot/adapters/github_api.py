"""GitHub's REST API, for what diagnose asks it: a repository's OIDC subject and its ids.

Endpoints (docs.github.com, "REST API endpoints for GitHub Actions OIDC", API version
2026-03-10, read 2026-10, https://docs.github.com/en/rest/actions/oidc?apiVersion=2026-03-10):
`GET /repos/{owner}/{repo}/actions/oidc/customization/sub` answers `use_default`, maybe
`include_claim_keys`, and (since immutable subject claims, 2026) `use_immutable_subject` and
`sub_claim_prefix`, the `repo:` part its tokens carry; `GET /orgs/{org}/actions/oidc/
customization/sub` answers the org's `include_claim_keys`; `GET /repos/{owner}/{repo}` gives
the ids and visibility (the `repository_id` claim STS passes, and templates that name them).
`GITHUB_API_URL` points at GitHub Enterprise Server (`https://HOST/api/v3`), which has no
immutable subjects: there the prefix is absent and the name-only form is what runs present.
Everything GitHub answers is bounded and validated before it is used.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from bot.domain.workflow.subject_forms import checked_prefix, name_only
from bot.domain.workflow.subjects import (
    DEFAULT_KEYS,
    SubjectTemplate,
    TemplateUnavailable,
    checked_keys,
)

MAX_ANSWER = 64 * 1024  # the answers are a few hundred bytes
# The version that answers `use_immutable_subject` and `sub_claim_prefix`.
API_VERSION = "2026-03-10"


class GitHubError(TemplateUnavailable):
    """GitHub refused or failed to answer; the message says which endpoint and how."""


class CrossOriginRedirect(urllib.error.URLError):
    """A redirect to another origin, refused before the request is sent."""


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects within the API's origin only. urllib copies every header, the token
    included, to wherever a redirect points; GitHub redirects a renamed repository within
    api.github.com ("Repository moved" in its REST docs, read 2026-12), never elsewhere."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            raise CrossOriginRedirect(f"redirect to another origin ({_origin(newurl)[1]})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class GitHubApi:
    """A read-only client authenticated with a token (GITHUB_TOKEN or a GitHub App's)."""

    def __init__(self, base_url: str, token: str, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_SameOriginRedirects)

    def repository_record(self, repo: str) -> dict[str, str]:
        """The repository's `repository_id`, `repository_owner_id` and `repository_visibility`."""
        owner, name = repo.split("/", 1)
        record = self._get(f"/repos/{quote(owner)}/{quote(name)}")
        owner_record = record.get("owner") if isinstance(record.get("owner"), dict) else {}
        claims: dict[str, str] = {}
        for key, value in (
            ("repository_id", record.get("id")),
            ("repository_owner_id", (owner_record or {}).get("id")),
            ("repository_visibility", record.get("visibility")),
        ):
            if isinstance(value, int | str) and len(str(value)) <= 64:
                claims[key] = str(value)
        return claims

    def subject_template(self, repo: str) -> SubjectTemplate:
        """The template GitHub applies to `repo` ("owner/name"), and the `repo:` prefix its
        tokens carry (name-only or immutable)."""
        owner, name = repo.split("/", 1)
        path = f"/repos/{quote(owner)}/{quote(name)}/actions/oidc/customization/sub"
        answer = self._get(path)
        keys: Any = answer.get("include_claim_keys")
        if answer.get("use_default") is True:
            keys, source = DEFAULT_KEYS, "GitHub's API: the repository uses GitHub's default"
        elif keys:
            source = "GitHub's API: the repository's own template"
        else:
            org = self._get(f"/orgs/{quote(owner)}/actions/oidc/customization/sub", missing_ok=True)
            keys = org.get("include_claim_keys") if org else None
            source = (
                f"GitHub's API: the organization {owner}'s template"
                if keys
                else "GitHub's API: no template set, so GitHub's default"
            )
            keys = keys or DEFAULT_KEYS
        try:
            keys = checked_keys(keys)
        except ValueError as error:
            raise GitHubError(f"{path} answered a template ecrbot can't use: {error}") from None
        prefix: str | None = None
        if "sub_claim_prefix" in answer:
            try:
                prefix = checked_prefix(answer["sub_claim_prefix"])
            except ValueError as error:
                raise GitHubError(f"{path} answered a prefix ecrbot can't use: {error}") from None
        elif not self._base.startswith("https://api.github.com"):
            prefix = name_only(repo)  # GHES has no immutable subjects (Changelog 2026-04-23)
        flag = answer.get("use_immutable_subject")
        return SubjectTemplate(
            keys,
            source,
            assumed=False,
            prefix=prefix,
            use_immutable_subject=flag if isinstance(flag, bool) else None,
        )

    def _get(self, path: str, *, missing_ok: bool = False) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (the URL's scheme comes from settings)
            self._base + path,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self._token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "ecrbot-diagnose",
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                body = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return {}
            raise GitHubError(f"GET {path} answered HTTP {error.code}") from None
        except CrossOriginRedirect as error:
            raise GitHubError(f"GET {path}: {error.reason}, not followed with the token") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise GitHubError(f"GET {path} failed: {type(error).__name__}") from None
        if len(body) > MAX_ANSWER:
            raise GitHubError(f"GET {path} answered more than {MAX_ANSWER // 1024} KiB")
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            raise GitHubError(f"GET {path} answered something that is not JSON") from None
        if not isinstance(parsed, dict):
            raise GitHubError(f"GET {path} answered JSON that is not an object")
        return parsed
