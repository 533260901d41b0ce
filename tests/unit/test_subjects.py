"""Customized OIDC subject claims, read through a GitHub API stand-in, and the events whose runs
never get a token. GitHub's docs: "OpenID Connect" > "Customizing the subject claims for an
organization or repository" and "REST API endpoints for GitHub Actions OIDC"
(https://docs.github.com/en/rest/actions/oidc)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.adapters.github_api import GitHubApi, GitHubError
from bot.domain.checks.checklist import check_app
from bot.domain.checks.model import Fact, Role, Status
from bot.domain.iam.trust import parse_policy
from bot.domain.workflow.analysis import analyse_workflows
from bot.domain.workflow.subjects import (
    DEFAULT_KEYS,
    SubjectTemplate,
    checked_keys,
    job_subjects,
    resolve_template,
    with_record,
)
from tests.standins.github_api import GitHubStandIn, Repo
from tests.unit.test_checks import PROVIDER, PUSH, ROLE, TRUST, WORKFLOW, by_id, healthy

SUB = "token.actions.githubusercontent.com:sub"
REUSED = ["repo", "context", "job_workflow_ref"]


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        standin.token("ghp_reader")
        standin.repo("acme/my-app", Repo(id=777, owner_id=4242))
        yield standin


def api(github: GitHubStandIn, token: str = "ghp_reader") -> GitHubApi:  # noqa: S107
    return GitHubApi(github.url, token)


def job() -> object:
    [report] = analyse_workflows({".github/workflows/push.yml": WORKFLOW})
    return report.jobs[0]


def trusting(subject: str, operator: str = "StringEquals") -> Role:
    statement = dict(TRUST["Statement"][0])
    statement["Condition"] = {operator: {SUB: subject}}
    return Role(ROLE, parse_policy({"Statement": [statement]}), {"inline:push": parse_policy(PUSH)})


# --- Reading the template from GitHub's API ---


def test_a_repository_template_is_read_and_names_its_source(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=False, keys=REUSED))
    template = api(github).subject_template("acme/my-app")
    assert template.keys == tuple(REUSED) and not template.assumed
    assert template.source == "GitHub's API: the repository's own template"
    path, auth = github.state.requests[0]
    assert path == "/repos/acme/my-app/actions/oidc/customization/sub"
    assert auth == "Bearer ghp_reader"


def test_use_default_false_without_keys_takes_the_organizations_template(
    github: GitHubStandIn,
) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=False))
    github.org_template("acme", ["repository_owner_id", "context"])
    template = api(github).subject_template("acme/my-app")
    assert template.keys == ("repository_owner_id", "context")
    assert template.source == "GitHub's API: the organization acme's template"
    # The owner's id comes from the repository's own record (read beside the template).
    template = with_record(template, api(github).repository_record("acme/my-app"))
    assert template.claims["repository_owner_id"] == "4242"
    [subject] = job_subjects(job(), "acme/my-app", "main", template)  # type: ignore[arg-type]
    assert subject.value == "repository_owner_id:4242:ref:refs/heads/main"


def test_no_org_template_and_use_default_mean_githubs_default(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=False))
    assert api(github).subject_template("acme/my-app").keys == DEFAULT_KEYS
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=True, keys=["repo"]))
    # "If true, the include_claim_keys field is ignored."
    assert api(github).subject_template("acme/my-app").keys == DEFAULT_KEYS


def test_a_refused_token_falls_back_to_the_catalog_and_says_why(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=False, keys=REUSED))
    bad = api(github, "ghp_unknown")
    template = resolve_template(("repo", "context"), lambda: bad.subject_template("acme/my-app"))
    assert template.problem == (
        "GET /repos/acme/my-app/actions/oidc/customization/sub answered HTTP 401"
    )
    assert template.source == "the catalog's `oidc_subject_keys`"
    report = check_app(healthy(subject_template=template))
    [line] = by_id(report.results, "oidc.subject")
    assert line.status is Status.WARN and "answered HTTP 401" in line.summary
    assert "ghp_unknown" not in str(report)  # a token never reaches a message
    github.token("ghp_no_grant", may_read=False)
    refused = api(github, "ghp_no_grant")
    with pytest.raises(Exception, match="answered HTTP 403"):
        refused.subject_template("acme/my-app")


def test_without_a_token_the_catalog_then_the_default_is_used() -> None:
    from_catalog = resolve_template(tuple(REUSED), None)
    assert from_catalog.keys == tuple(REUSED) and not from_catalog.assumed
    assumed = resolve_template(None, None)
    assert assumed.keys == DEFAULT_KEYS and assumed.assumed
    [line] = by_id(check_app(healthy(subject_template=assumed)).results, "oidc.subject")
    assert line.status is Status.SKIP and "assumed" in line.summary


@pytest.mark.parametrize(
    "keys", [[], ["repo"] * 0, ["re po"], ["repo", 3], ["x" * 65], ["k"] * 21, "repo"]
)
def test_templates_from_outside_are_bounded(keys: object) -> None:
    with pytest.raises(ValueError, match=r"claim key|1 to 20"):
        checked_keys(keys)


def test_a_hostile_api_answer_is_refused(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, use_default=False, keys=["a:b"]))
    with pytest.raises(Exception, match="a template ecrbot can't use"):
        api(github).subject_template("acme/my-app")


# --- What the trust check does with a custom template ---


def test_a_trust_policy_written_for_the_custom_subject_passes() -> None:
    template = SubjectTemplate(tuple(REUSED), "GitHub's API", False, prefix="repo:acme/my-app")
    expected = (
        "repo:acme/my-app:ref:refs/heads/main:job_workflow_ref:"
        "acme/my-app/.github/workflows/push.yml@refs/heads/main"
    )
    passing = check_app(healthy(subject_template=template, role=Fact(trusting(expected))))
    [subject] = by_id(passing.results, "trust.subject")
    assert subject.status is Status.PASS and expected in subject.summary
    # A trust policy written for the default subject no longer matches what the job presents.
    default_form = Fact(trusting("repo:acme/my-app:ref:refs/heads/main"))
    failing = check_app(healthy(subject_template=template, role=default_form))
    [subject] = by_id(failing.results, "trust.subject")
    assert subject.status is Status.FAIL and expected in subject.summary
    assert expected in subject.remediation  # the suggested statement names the real subject


def test_a_claim_only_a_run_knows_is_a_warning_not_a_failure() -> None:
    template = SubjectTemplate(("repo", "actor"), "the catalog's `oidc_subject_keys`", False)
    report = check_app(healthy(subject_template=template, role=Fact(trusting("repo:x/y:*"))))
    [subject] = by_id(report.results, "trust.subject")
    assert "repo:acme/my-app:actor:*" in subject.summary
    assert subject.status is Status.WARN and "known only when the job runs" in subject.summary


# --- Events that never get a token ---
# GitHub gives runs triggered by Dependabot, and pull_request runs from forks, a read-only
# GITHUB_TOKEN without id-token: write, whatever the workflow asks ("Automating Dependabot with
# GitHub Actions"; "Events that trigger workflows" > pull_request).

DEPENDABOT_ONLY = WORKFLOW.replace(
    "    runs-on: ubuntu-latest\n",
    "    runs-on: ubuntu-latest\n    if: github.actor == 'dependabot[bot]'\n",
).replace("on:\n  push:\n    branches: [main]\n", "on: [pull_request]\n")
FORKS_ONLY = DEPENDABOT_ONLY.replace(
    "github.actor == 'dependabot[bot]'", "github.event.pull_request.head.repo.fork"
)
DEPENDABOT_BRANCHES = WORKFLOW.replace("branches: [main]", "branches: ['dependabot/**']")


@pytest.mark.parametrize(
    ("workflow", "why"),
    [
        (DEPENDABOT_ONLY, "it only runs for Dependabot"),
        (FORKS_ONLY, "it only runs for pull requests from forks"),
        (DEPENDABOT_BRANCHES, "it only runs on pushes to Dependabot's `dependabot/...` branches"),
    ],
)
def test_a_job_that_only_runs_without_a_token_is_missing_not_ok(workflow: str, why: str) -> None:
    facts = healthy(workflows=Fact(analyse_workflows({".github/workflows/push.yml": workflow})))
    report = check_app(facts)
    [token] = by_id(report.results, "workflow.id_token")
    assert token.status is Status.FAIL
    assert why in token.summary and "never get an OIDC token" in token.summary
    assert "already gets id-token" not in token.remediation
    # It presents no subject, so the trust check is not told it is fine.
    assert all("#build-and-push" not in r.summary for r in by_id(report.results, "trust.subject"))


def test_a_job_that_also_runs_on_push_still_gets_its_token() -> None:
    both = WORKFLOW.replace("on:\n  push:\n", "on:\n  pull_request:\n  push:\n")
    facts = healthy(workflows=Fact(analyse_workflows({".github/workflows/push.yml": both})))
    [token] = by_id(check_app(facts).results, "workflow.id_token")
    assert token.status is Status.PASS


def test_pull_request_target_runs_in_the_base_context() -> None:
    target = DEPENDABOT_ONLY.replace("on: [pull_request]", "on: [pull_request_target]")
    facts = healthy(workflows=Fact(analyse_workflows({".github/workflows/push.yml": target})))
    [token] = by_id(check_app(facts).results, "workflow.id_token")
    assert token.status is Status.PASS


def test_the_provider_constant_is_the_checks_one() -> None:
    assert PROVIDER.endswith("oidc-provider/token.actions.githubusercontent.com")
    assert replace(SubjectTemplate(), keys=("repo",)).is_default is False


# --- The stand-in is as strict as GitHub ---


def test_the_stand_in_refuses_what_github_refuses(github: GitHubStandIn) -> None:
    def status(headers: dict[str, str]) -> int:
        url = f"{github.url}/repos/acme/my-app"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the stand-in)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    agent = {"User-Agent": "t"}
    assert status({**agent, "Authorization": "Bearer ghp_reader"}) == 200
    assert status(agent) == 401  # no token: "Bad credentials"
    assert status({"Authorization": "Bearer ghp_reader", "User-Agent": ""}) == 403
    versioned = {
        **agent,
        "Authorization": "Bearer ghp_reader",
        "X-GitHub-Api-Version": "2099-01-01",
    }
    assert status(versioned) == 400  # an API version GitHub does not know


def test_the_prefix_needs_api_version_2026_03_10(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, immutable=True))
    template = api(github).subject_template("acme/my-app")
    assert template.prefix == "repo:acme@4242/my-app@777"
    assert template.use_immutable_subject is True
    assert github.state.requests[-1][0].endswith("/customization/sub")


def test_a_hostile_prefix_is_refused(github: GitHubStandIn) -> None:
    github.repo("acme/my-app", Repo(id=777, owner_id=4242, prefix="repo:acme@1/x:*"))
    with pytest.raises(Exception, match="a prefix ecrbot can't use"):
        api(github).subject_template("acme/my-app")


def test_a_redirect_is_followed_only_within_the_apis_origin(github: GitHubStandIn) -> None:
    old = "/repos/acme/old-name/actions/oidc/customization/sub"
    github.redirect(old, "/repos/acme/my-app/actions/oidc/customization/sub")  # a renamed repo
    assert api(github).subject_template("acme/old-name").keys  # followed: same origin

    with GitHubStandIn() as elsewhere:
        sub = "/repos/acme/my-app/actions/oidc/customization/sub"
        github.redirect(sub, f"{elsewhere.url}{sub}")
        with pytest.raises(GitHubError, match="redirect to another origin"):
            api(github).subject_template("acme/my-app")
        assert elsewhere.state.requests == []  # the token never left for the other origin
