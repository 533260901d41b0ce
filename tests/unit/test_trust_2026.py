"""Trust policies as teams write them in 2026, against the request STS really evaluates.

Sources (read 2026-10):
- GitHub Changelog 2026-04-23 "Immutable subject claims for GitHub Actions OIDC tokens" and
  docs.github.com "OpenID Connect reference" > "Immutable subject claims": repositories
  created, renamed or transferred on or after 2026-07-15 (or opted in) present
  `repo:OWNER@OWNER_ID/REPO@REPO_ID:...`; `sub_claim_prefix` says which form a repository has
  (Azure/azure-dev#9382: `use_immutable_subject: false` with an ID-bearing prefix, and runs
  presenting the prefix).
- AWS What's New 2026-01 "AWS STS supports validation of identity provider claims": STS passes
  `actor`, `actor_id`, `job_workflow_ref`, `repository`, `repository_id`, `workflow`, `ref`,
  `environment`, `enterprise_id`; other claims (`repository_owner_id`, `workflow_ref`,
  `repo_property_*`) never reach the request context.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.checks.checklist import check_app
from bot.domain.checks.model import CheckResult, Fact, Role, Status
from bot.domain.iam.trust import parse_policy
from bot.domain.workflow.analysis import analyse_workflows
from bot.domain.workflow.subjects import SubjectTemplate, with_record
from tests.unit.test_checks import PROVIDER, PUSH, ROLE, WORKFLOW, by_id, healthy

GH = "token.actions.githubusercontent.com"
NAME_ONLY = "repo:acme/my-app:ref:refs/heads/main"
IMMUTABLE = "repo:acme@4242/my-app@777:ref:refs/heads/main"
RECORD = {"repository_id": "777", "repository_owner_id": "4242", "repository_visibility": "private"}
ENV_WORKFLOW = WORKFLOW.replace(
    "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    environment: production\n"
)


def role(condition: dict[str, Any]) -> Fact[Role]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"}, **condition},
    }
    if "StringEquals" in condition:
        statement["Condition"]["StringEquals"] = {
            f"{GH}:aud": "sts.amazonaws.com",
            **condition["StringEquals"],
        }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    return Fact(Role(ROLE, parse_policy(policy), {"inline:push": parse_policy(PUSH)}))


def sub(*patterns: str, like: bool = False) -> dict[str, Any]:
    value: str | list[str] = patterns[0] if len(patterns) == 1 else list(patterns)
    return {"StringLike" if like else "StringEquals": {f"{GH}:sub": value}}


def merged(*conditions: dict[str, Any]) -> dict[str, Any]:
    """Condition blocks joined operator by operator (a plain `|` would drop one's keys)."""
    out: dict[str, Any] = {}
    for condition in conditions:
        for operator, entries in condition.items():
            out.setdefault(operator, {}).update(entries)
    return out


def token(prefix: str, *, flag: bool | None = None, record: bool = True) -> SubjectTemplate:
    """What GitHub's API answers with a token: the prefix decides, the flag is shown."""
    template = SubjectTemplate(
        source="GitHub's API: the repository uses GitHub's default",
        assumed=False,
        prefix=prefix,
        use_immutable_subject=("@" in prefix) if flag is None else flag,
    )
    return with_record(template, RECORD if record else None)


NO_TOKEN = SubjectTemplate()
ON_NAMES, ON_IDS = token("repo:acme/my-app"), token("repo:acme@4242/my-app@777")


def trust(
    condition: dict[str, Any], template: SubjectTemplate, workflow: str = WORKFLOW
) -> list[CheckResult]:
    facts = healthy(
        role=role(condition),
        subject_template=template,
        workflows=Fact(analyse_workflows({".github/workflows/push.yml": workflow})),
    )
    return by_id(check_app(facts).results, "trust.subject") + by_id(
        check_app(facts).results, "trust.hygiene"
    )


# (case, condition, template, workflow, status, words in the summary, words in the fix)
CASES: list[tuple[str, dict[str, Any], SubjectTemplate, str, Status, list[str], list[str]]] = [
    ("name-only policy, repository on IDs", sub(NAME_ONLY), ON_IDS, WORKFLOW, Status.FAIL,
     [IMMUTABLE, "immutable form"], [IMMUTABLE]),
    ("name-only policy, repository on names", sub(NAME_ONLY), ON_NAMES, WORKFLOW, Status.PASS,
     ["sub_claim_prefix"], []),
    ("immutable policy, repository on IDs", sub(IMMUTABLE), ON_IDS, WORKFLOW, Status.PASS, [], []),
    ("immutable policy, 'false' with an ID prefix (azure-dev#9382)", sub(IMMUTABLE),
     token("repo:acme@4242/my-app@777", flag=False), WORKFLOW, Status.PASS, [], []),
    ("immutable policy, repository on names", sub(IMMUTABLE), ON_NAMES, WORKFLOW, Status.FAIL,
     ["name-only subject"], [NAME_ONLY, "Before renaming or transferring"]),
    ("name-only policy, no token", sub(NAME_ONLY), NO_TOKEN, WORKFLOW, Status.WARN,
     ["but not repo:acme@<owner-id>/my-app@<repo-id>", "2026-07-15",
      "gh api repos/acme/my-app/actions/oidc/customization/sub"],
     [NAME_ONLY, "repo:acme@<owner-id>/my-app@<repo-id>:ref:refs/heads/main"]),
    ("immutable policy, no token: the policy's IDs are tried", sub(IMMUTABLE), NO_TOKEN, WORKFLOW,
     Status.WARN, [f"trusts {IMMUTABLE}", f"not {NAME_ONLY}", "immutable form"],
     [NAME_ONLY, IMMUTABLE]),
    ("both forms, no token", sub(NAME_ONLY, IMMUTABLE), NO_TOKEN, WORKFLOW, Status.PASS,
     ["either subject form works"], []),
    ("environment condition, job in that environment",
     {"StringEquals": {f"{GH}:environment": "production", f"{GH}:sub":
                       "repo:acme@4242/my-app@777:environment:production"}},
     ON_IDS, ENV_WORKFLOW, Status.PASS, [], []),
    ("environment condition, job in none", merged(sub("repo:acme@4242/my-app@777:*", like=True),
     {"StringEquals": {f"{GH}:environment": "production"}}), ON_IDS, WORKFLOW, Status.FAIL,
     [f"requires {GH}:environment, which this request does not carry"], []),
    ("repository_id condition, right id", merged({"StringEquals": {f"{GH}:repository_id": "777"}},
     sub("repo:acme@4242/my-app@777:*", like=True)),
     ON_IDS, WORKFLOW, Status.PASS, [], []),
    ("repository_id condition, wrong id", merged({"StringEquals": {f"{GH}:repository_id": "778"}},
     sub("repo:acme/*", like=True)),
     ON_NAMES, WORKFLOW, Status.FAIL,
     [f"requires {GH}:repository_id StringEquals '778' but the request has '777'"], []),
    ("repository_id condition, no token", merged({"StringEquals": {f"{GH}:repository_id": "777"}},
     sub("repo:acme/my-app:*", "repo:acme@*/my-app@*:*", like=True)),
     NO_TOKEN, WORKFLOW,
     Status.WARN, ["what ecrbot can't know before the run", "GITHUB_TOKEN"], []),
    ("ref, workflow and job_workflow_ref conditions", merged({"StringEquals": {
        f"{GH}:ref": "refs/heads/main", f"{GH}:workflow": ".github/workflows/push.yml",
        f"{GH}:job_workflow_ref": "acme/my-app/.github/workflows/push.yml@refs/heads/main",
        f"{GH}:repository": "acme/my-app"}}, sub("repo:acme@4242/my-app@777:*", like=True)),
     ON_IDS, WORKFLOW, Status.PASS, [], []),
    ("actor condition", merged({"StringEquals": {f"{GH}:actor": "octocat"}},
     sub(IMMUTABLE)),
     ON_IDS, WORKFLOW, Status.WARN,
     ["depends on who runs it", f'"StringEquals": {{"{GH}:actor": ["octocat"]}}'], []),
    ("negated actor condition", merged({"StringNotEquals": {f"{GH}:actor_id": "49699333"}},
     sub(IMMUTABLE)),
     ON_IDS, WORKFLOW, Status.WARN, ["depends on who runs it", "49699333"], []),
    ("repository_owner_id: STS does not pass it", merged({"StringEquals": {
        f"{GH}:repository_owner_id": "4242"}}, sub(IMMUTABLE)), ON_IDS, WORKFLOW, Status.FAIL,
     ["repository_owner_id, a claim AWS STS does not put in the request context",
      "can never hold", "repository_id"], [IMMUTABLE]),
    ("workflow_ref: STS does not pass it", {"StringLike": {
        f"{GH}:workflow_ref": "acme/my-app/*", f"{GH}:sub": IMMUTABLE}}, ON_IDS, WORKFLOW,
     Status.FAIL, ["workflow_ref, a claim AWS STS does not put", "`job_workflow_ref`"], []),
    ("repo_property_*: STS does not pass it", merged({"StringEquals": {
        f"{GH}:repo_property_tier": "prod"}}, sub(IMMUTABLE)), ON_IDS, WORKFLOW, Status.FAIL,
     ["repo_property_tier", "custom properties never reach AWS"], []),
    ("a negated condition on a claim STS drops holds", merged({"StringNotEquals": {
        f"{GH}:repository_owner_id": "1"}}, sub(IMMUTABLE)), ON_IDS, WORKFLOW, Status.PASS,
     [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("condition", "template", "workflow", "status", "words", "fix"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_real_world_trust_policies(
    condition: dict[str, Any],
    template: SubjectTemplate,
    workflow: str,
    status: Status,
    words: list[str],
    fix: list[str],
) -> None:
    [line, *hygiene] = trust(condition, template, workflow)
    assert line.id == "trust.subject"
    assert line.status is status, line.summary
    for word in words:
        assert word in line.summary
    for word in fix:
        assert word in line.remediation
    assert all(h.id == "trust.hygiene" for h in hygiene)


def test_an_id_wildcard_reopens_the_name_recycling_hole() -> None:
    [line, hygiene] = trust(sub("repo:acme@*/my-app@*:*", like=True), ON_IDS)
    assert line.status is Status.PASS  # it does let the job in...
    assert hygiene.status is Status.WARN  # ...and anyone who re-creates the name
    assert "accepts any owner or repository ID after '@'" in hygiene.summary


def test_the_subject_check_names_the_prefix_and_the_odd_flag() -> None:
    odd = token("repo:acme@4242/my-app@777", flag=False)
    [line] = by_id(check_app(healthy(subject_template=odd)).results, "oidc.subject")
    assert line.status is Status.PASS
    assert "repo:acme@4242/my-app@777 (the immutable form)" in line.summary
    assert "use_immutable_subject: false; ecrbot follows the prefix" in line.summary


def test_without_a_token_the_subject_check_says_both_forms_are_tried() -> None:
    [line] = by_id(check_app(healthy(subject_template=NO_TOKEN)).results, "oidc.subject")
    assert line.status is Status.SKIP and "trust.subject tries both" in line.summary


def test_the_ids_survive_a_record_that_cannot_be_read() -> None:
    # The immutable prefix carries both ids: repository_id stays known for STS.
    template = with_record(
        SubjectTemplate(assumed=False, prefix="repo:acme@4242/my-app@777"), None, "HTTP 403"
    )
    assert template.claims["repository_id"] == "777"
    lines = trust(
        merged({"StringEquals": {f"{GH}:repository_id": "777"}}, sub(IMMUTABLE)), template
    )
    assert lines[0].status is Status.PASS
