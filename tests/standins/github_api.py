"""GitHub's REST API stand-in for diagnose's subject templates, served on 127.0.0.1.

It serves only what ecrbot asks (docs.github.com, "REST API endpoints for GitHub Actions
OIDC" and "REST API endpoints for repositories"), as strictly as GitHub does:

- `GET /repos/{owner}/{repo}/actions/oidc/customization/sub` -> `{use_default,
  include_claim_keys?}`, plus `use_immutable_subject` and `sub_claim_prefix` when asked with
  `X-GitHub-Api-Version: 2026-03-10` (API docs, apiVersion=2026-03-10, read 2026-10); the
  prefix is `repo:OWNER@OWNER_ID/REPO@REPO_ID` for an immutable repository, and can be set to
  disagree with the flag, as Azure/azure-dev#9382 saw GitHub do;
  `GET /orgs/{org}/actions/oidc/customization/sub` -> `{include_claim_keys}`, 404 when the
  organization set none; `GET /repos/{owner}/{repo}` -> the repository's `id`, `full_name`,
  `owner.id`, `owner.login` and `visibility`;
- an `X-GitHub-Api-Version` GitHub does not know is 400; none means 2022-11-28;
- names are not case sensitive; a repository or organization the token can't see is 404;
- no token or an unknown one is 401 "Bad credentials"; a token without the grant is 403;
- a request without a User-Agent is 403, as GitHub refuses those;
- every request is recorded (path, authorization) so tests can assert what was asked.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

API_VERSIONS = ("2022-11-28", "2026-03-10")


@dataclass
class Repo:
    id: int
    owner_id: int
    visibility: str = "private"
    use_default: bool = True
    keys: list[str] | None = None
    immutable: bool = False  # created/renamed/transferred since 2026-07-15, or opted in
    prefix: str | None = None  # what `sub_claim_prefix` answers, when it differs from the flag
    full_name: str = ""  # "Owner/Name" as GitHub spells it (set by GitHubStandIn.repo)

    def sub_claim_prefix(self) -> str:
        if self.prefix is not None:
            return self.prefix
        owner, name = self.full_name.split("/", 1)
        return (
            f"repo:{owner}@{self.owner_id}/{name}@{self.id}"
            if self.immutable
            else (f"repo:{owner}/{name}")
        )


@dataclass
class GitHubState:
    tokens: dict[str, bool] = field(default_factory=dict)  # token -> may read OIDC settings
    repos: dict[str, Repo] = field(default_factory=dict)  # "owner/repo" (lowercase)
    orgs: dict[str, list[str]] = field(default_factory=dict)  # org (lowercase) -> keys
    requests: list[tuple[str, str]] = field(default_factory=list)
    # path (lowercase) -> Location: GitHub answers 301 for a renamed or transferred repository.
    redirects: dict[str, str] = field(default_factory=dict)


class GitHubStandIn:
    """`with GitHubStandIn() as github:` then point GITHUB_API_URL at `github.url`."""

    def __init__(self) -> None:
        self.state = GitHubState()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def token(self, value: str, *, may_read: bool = True) -> str:
        self.state.tokens[value] = may_read
        return value

    def repo(self, name: str, repo: Repo) -> None:
        repo.full_name = name
        self.state.repos[name.lower()] = repo

    def redirect(self, path: str, location: str) -> None:
        """Answer `path` with 301 to `location` (a path here, or a URL elsewhere)."""
        self.state.redirects[path.lower()] = location

    def org_template(self, org: str, keys: list[str]) -> None:
        self.state.orgs[org.lower()] = keys

    def __enter__(self) -> GitHubStandIn:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(state: GitHubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.path, auth))
            if not self.headers.get("User-Agent"):
                return self._answer(403, {"message": "Request forbidden by administrative rules"})
            version = self.headers.get("X-GitHub-Api-Version", "2022-11-28")
            if version not in API_VERSIONS:
                return self._answer(400, {"message": "Unsupported 'X-GitHub-Api-Version' header"})
            scheme, _, token = auth.partition(" ")
            if scheme.lower() not in ("bearer", "token") or token not in state.tokens:
                return self._answer(401, {"message": "Bad credentials"})
            if (location := state.redirects.get(self.path.lower())) is not None:
                self.send_response(301)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            parts = self.path.lower().strip("/").split("/")
            if parts[:1] == ["repos"] and len(parts) == 3:
                repo = state.repos.get(f"{parts[1]}/{parts[2]}")
                if repo is None:
                    return self._answer(404, {"message": "Not Found"})
                body = {
                    "id": repo.id,
                    "full_name": repo.full_name,
                    "owner": {"id": repo.owner_id, "login": repo.full_name.split("/")[0]},
                    "visibility": repo.visibility,
                }
                return self._answer(200, body)
            if not state.tokens[token]:
                return self._answer(403, {"message": "Resource not accessible by integration"})
            if parts[:1] == ["repos"] and parts[3:] == ["actions", "oidc", "customization", "sub"]:
                repo = state.repos.get(f"{parts[1]}/{parts[2]}")
                if repo is None:
                    return self._answer(404, {"message": "Not Found"})
                answer: dict[str, Any] = {"use_default": repo.use_default}
                if repo.keys is not None:
                    answer["include_claim_keys"] = repo.keys
                if version >= "2026-03-10":
                    answer["use_immutable_subject"] = repo.immutable
                    answer["sub_claim_prefix"] = repo.sub_claim_prefix()
                return self._answer(200, answer)
            if parts[:1] == ["orgs"] and parts[2:] == ["actions", "oidc", "customization", "sub"]:
                keys = state.orgs.get(parts[1])
                if keys is None:
                    return self._answer(404, {"message": "Not Found"})
                return self._answer(200, {"include_claim_keys": keys})
            return self._answer(404, {"message": "Not Found"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
