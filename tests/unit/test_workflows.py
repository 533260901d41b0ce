"""Workflow analysis: GitHub's token and OIDC rules applied to real-world workflow files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.workflow.analysis import (
    JobAnalysis,
    WorkflowReport,
    analyse_workflows,
)
from bot.domain.workflow.notes import permissions_fix

DATA = Path(__file__).parent.parent / "data" / "workflows"
FIXTURES = {
    f".github/workflows/{path.name}": path.read_text() for path in sorted(DATA.glob("*.yml"))
}
REPO = "acme/my-app"


def reports_of(files: dict[str, str]) -> dict[str, WorkflowReport]:
    return {report.workflow: report for report in analyse_workflows(files)}


def one(name: str) -> WorkflowReport:
    path = f".github/workflows/{name}"
    return reports_of({path: FIXTURES[path]})[path]


def job_of(name: str, job_id: str | None = None) -> JobAnalysis:
    jobs = [job for job in one(name).jobs if job_id in (None, job.job_id)]
    assert len(jobs) == 1, jobs
    return jobs[0]


def inline(text: str, name: str = "inline.yml") -> JobAnalysis:
    (report,) = analyse_workflows({f".github/workflows/{name}": text})
    assert report.error is None, report.error
    (job,) = report.jobs
    return job


# --- the fixtures themselves ------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES))
def test_every_fixture_names_its_source(path: str) -> None:
    assert FIXTURES[path].startswith("# source: ")


# --- the runbook's own example ----------------------------------------------------------


def test_runbook_example_passes() -> None:
    job = job_of("runbook_example.yml")
    assert job.id_token == "write"
    assert job.permissions_source == "job"
    assert job.id_token_reason == (
        "job-level permissions {id-token: write, contents: read} grant id-token: write"
    )
    assert job.uses_standard_tooling
    assert job.notes == ()  # --sha ${{ github.sha }}: nothing to say


def test_runbook_example_aws_step() -> None:
    (step,) = job_of("runbook_example.yml").aws_steps
    assert step.step_index == 1
    assert step.uses == "aws-actions/configure-aws-credentials@v4"
    assert step.role_to_assume == "arn:aws:iam::123456789012:role/my-app-pusher"
    assert step.aws_region == "eu-west-2"
    assert step.audience is None
    assert not step.uses_static_keys


def test_runbook_example_subject_is_its_branch() -> None:
    job = job_of("runbook_example.yml")
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/heads/main",)


# --- which block applies, and what it gives ---------------------------------------------


def test_job_block_replaces_workflow_block_and_drops_id_token() -> None:
    build = job_of("job_block_drops_id_token.yml", "build")
    assert build.id_token == "none"
    assert build.permissions_source == "job"
    assert build.id_token_reason == (
        "job-level permissions {contents: read, packages: read} replace the workflow's "
        "and do not name id-token, so it is none"
    )


def test_job_without_block_keeps_workflow_block() -> None:
    download = job_of("job_block_drops_id_token.yml", "download")
    assert download.id_token == "write"
    assert download.permissions_source == "workflow"


def test_write_all_grants_id_token() -> None:
    job = job_of("write_all.yml")
    assert job.id_token == "write"
    assert "write-all" in job.id_token_reason


def test_read_all_gives_no_id_token() -> None:
    job = job_of("read_all.yml")
    assert job.id_token == "none"
    assert job.id_token_reason == (
        "workflow-level permissions read-all give read to every scope, "
        "and id-token has no read level, so it is none"
    )


def test_empty_block_gives_nothing() -> None:
    job = job_of("empty_permissions.yml")
    assert job.id_token == "none"
    assert "{} set every scope, id-token included, to none" in job.id_token_reason


def test_no_block_anywhere_means_default_without_id_token() -> None:
    job = job_of("no_permissions.yml")
    assert (job.id_token, job.permissions_source) == ("none", "default")
    assert "neither default (permissive or restricted)" in job.id_token_reason


def test_id_token_read_is_invalid() -> None:
    job = inline(
        "on: push\npermissions:\n  id-token: read\njobs:\n  a:\n    runs-on: x\n    steps: []\n"
    )
    assert job.id_token == "none"
    assert "`id-token: read` is not allowed" in job.id_token_reason


def test_explicit_id_token_none() -> None:
    job = inline("on: push\njobs:\n  a:\n    permissions:\n      id-token: none\n    steps: []\n")
    assert job.id_token_reason == "job-level permissions {id-token: none} set id-token: none"


# --- YAML 1.1 quirks --------------------------------------------------------------------


def test_on_key_is_a_boolean_for_pyyaml_but_a_trigger_here() -> None:
    text = FIXTURES[".github/workflows/runbook_example.yml"]
    assert True in yaml.safe_load(text)  # the quirk this module works around
    assert job_of("runbook_example.yml").triggers == ("push",)


def test_on_off_yes_no_stay_strings() -> None:
    job = inline(
        "on:\n  push:\n    branches: [on, 'off']\njobs:\n  a:\n    environment: no\n    steps: []\n"
    )
    assert job.environment == "no"
    job = inline("on:\n  push:\n    branches: [yes]\njobs:\n  a:\n    steps: []\n")
    assert job.subjects(REPO, "yes") == ("repo:acme/my-app:ref:refs/heads/yes",)


# --- OIDC subjects and triggers ---------------------------------------------------------


def test_environment_wins_over_branch() -> None:
    job = job_of("environment_job.yml")
    assert job.environment == "develop"
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:environment:develop",)


def test_environment_mapping_uses_its_name() -> None:
    job = job_of("environments.yml", "production")
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:environment:production_environment",)


def test_dynamic_environment_is_noted() -> None:
    job = job_of("environments.yml", "chosen")
    assert job.environment == "${{ inputs.environment }}"
    assert any("is an expression" in note for note in job.notes)


def test_colon_in_environment_is_escaped() -> None:
    job = inline("on: push\njobs:\n  a:\n    environment: 'Production:V1'\n    steps: []\n")
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:environment:Production%3AV1",)


def test_tag_and_branch_push() -> None:
    job = job_of("tag_release.yml")
    assert job.subjects(REPO, "main") == (
        "repo:acme/my-app:ref:refs/heads/main",
        "repo:acme/my-app:ref:refs/tags/v*.*.*",
    )


def test_tags_only_push_never_runs_on_a_branch() -> None:
    job = inline("on:\n  push:\n    tags: ['v*']\njobs:\n  a:\n    steps: []\n")
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/tags/v*",)


def test_unfiltered_push_covers_branches_and_tags() -> None:
    job = job_of("github_docs_aws_example.yml")
    assert job.subjects(REPO, "main") == (
        "repo:acme/my-app:ref:refs/heads/main",
        "repo:acme/my-app:ref:refs/tags/*",
    )


def test_branch_filter_not_covering_default_branch_gives_its_pattern() -> None:
    job = inline("on:\n  push:\n    branches: ['release/**']\njobs:\n  a:\n    steps: []\n")
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/heads/release/*",)


def test_pull_request_subject_and_fork_note() -> None:
    job = job_of("pull_request_plan.yml")
    assert job.triggers == ("pull_request",)
    assert job.subjects(REPO, "master") == ("repo:acme/my-app:pull_request",)
    assert any(
        note.startswith("pull_request: runs for pull requests from forks") for note in job.notes
    )


def test_pull_request_target_runs_on_the_base_branch() -> None:
    job = inline(
        "on: pull_request_target\npermissions:\n  id-token: write\njobs:\n  a:\n    steps:\n"
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "        with: {role-to-assume: 'arn:aws:iam::1:role/r', aws-region: eu-west-2}\n"
    )
    assert job.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/heads/main",)
    assert any("base repository's context" in note for note in job.notes)


def test_dependabot_only_job_is_noted() -> None:
    job = job_of("dependabot.yml", "dependabot-only")
    assert any("runs only for Dependabot" in note for note in job.notes)


def test_job_skipping_dependabot_gets_no_dependabot_note() -> None:
    job = job_of("dependabot.yml", "everyone-else")
    assert not any("Dependabot" in note for note in job.notes)


def test_push_to_main_only_is_never_a_dependabot_run() -> None:
    assert not any("Dependabot" in note for note in job_of("runbook_example.yml").notes)
    assert any("Dependabot" in note for note in job_of("github_docs_aws_example.yml").notes)


# --- reusable workflows -----------------------------------------------------------------

CALLED = ".github/workflows/reusable_ecr_push.yml"


def called_jobs(*callers: str) -> tuple[JobAnalysis, ...]:
    files = {CALLED: FIXTURES[CALLED]}
    files |= {f".github/workflows/{c}": FIXTURES[f".github/workflows/{c}"] for c in callers}
    return reports_of(files)[CALLED].jobs


def test_called_workflow_cannot_get_what_its_caller_lacks() -> None:
    (build,) = called_jobs("caller_without_id_token.yml")
    assert build.id_token == "none"
    assert build.permissions_source == "caller"
    assert build.caller is not None and build.caller.job_id == "publish"
    assert "grants only id-token: none" in build.id_token_reason
    assert "GitHub rejects the run" in build.id_token_reason
    assert build.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/heads/main",)


def test_called_workflow_gets_what_its_caller_grants() -> None:
    (build,) = called_jobs("caller_with_id_token.yml")
    assert build.id_token == "write"
    assert build.id_token_reason.endswith("grants it too")
    assert build.triggers == ("push",)  # the caller's event decides the subject
    assert build.subjects(REPO, "main") == ("repo:acme/my-app:ref:refs/tags/v*",)


def test_called_workflow_is_analysed_once_per_caller_and_not_alone() -> None:
    jobs = called_jobs("caller_with_id_token.yml", "caller_without_id_token.yml")
    assert [(job.caller.workflow if job.caller else None) for job in jobs] == [
        ".github/workflows/caller_with_id_token.yml",
        ".github/workflows/caller_without_id_token.yml",
    ]


def test_calling_job_itself() -> None:
    (publish,) = reports_of(FIXTURES)[".github/workflows/caller_without_id_token.yml"].jobs
    assert publish.calls_reusable == "./.github/workflows/reusable_ecr_push.yml"
    assert publish.aws_steps == ()
    assert publish.id_token == "none"


def test_called_job_without_block_inherits_the_caller() -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\njobs:\n  go:\n    uses: ./.github/workflows/r.yml\n",
        ".github/workflows/r.yml": "on: workflow_call\njobs:\n  push:\n    steps: []\n",
    }
    (push,) = reports_of(files)[".github/workflows/r.yml"].jobs
    assert (push.id_token, push.permissions_source) == ("none", "caller")
    assert push.id_token_reason == (
        "it declares no permissions, so it gets what .github/workflows/ci.yml job `go` "
        "grants: id-token: none"
    )


def test_called_workflow_without_caller_in_repo() -> None:
    job = inline("on: workflow_call\njobs:\n  push:\n    steps: []\n")
    assert (job.id_token, job.permissions_source) == ("none", "caller")
    assert "no job in this repository calls it" in job.id_token_reason


def test_remote_reusable_workflow_is_noted() -> None:
    job = inline("on: push\njobs:\n  go:\n    uses: org/shared/.github/workflows/push.yml@v1\n")
    assert job.calls_reusable == "org/shared/.github/workflows/push.yml@v1"
    assert any("from another repository" in note for note in job.notes)


def test_self_calling_workflow_stops() -> None:
    text = "on: [push, workflow_call]\njobs:\n  again:\n    uses: ./.github/workflows/loop.yml\n"
    (report,) = analyse_workflows({".github/workflows/loop.yml": text})
    assert len(report.jobs) == 4  # GitHub's limit: four levels of workflows


# --- steps, tooling and tags ------------------------------------------------------------


def test_static_keys_are_flagged() -> None:
    job = job_of("starter_ecs_static_keys.yml")
    (step,) = job.aws_steps
    assert step.uses_static_keys and step.role_to_assume is None
    assert any("long-lived keys" in note for note in job.notes)


def test_aws_region_from_env_literal_or_expression() -> None:
    assert job_of("starter_ecs_static_keys.yml").aws_steps[0].aws_region == "us-west-1"
    assert job_of("github_docs_aws_example.yml").aws_steps[0].aws_region == "us-east-2"
    assert job_of("tag_release.yml").aws_steps[0].aws_region == "${{ vars.AWS_REGION }}"


def test_audience_is_read() -> None:
    job = inline(
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - uses: aws-actions/configure-aws-credentials@main\n"
        "        with: {audience: sts.amazonaws.com.cn, aws-region: cn-north-1}\n"
    )
    assert job.aws_steps[0].audience == "sts.amazonaws.com.cn"


def test_latest_and_missing_sha_are_noted() -> None:
    manual = job_of("manual_latest.yml", "manual")
    assert not manual.uses_standard_tooling
    assert any("tags `latest`" in note for note in manual.notes)
    script = job_of("manual_latest.yml", "script")
    assert script.uses_standard_tooling
    assert any("without --sha" in note for note in script.notes)


def test_build_push_action_after_amazon_ecr_login_is_standard_tooling() -> None:
    job = job_of("tag_release.yml")
    assert job.uses_standard_tooling
    assert any("(Generate image metadata) tags `latest`" in note for note in job.notes)


def test_build_push_action_alone_or_without_push_is_not_standard_tooling() -> None:
    steps = (
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "        with: {role-to-assume: arn:aws:iam::123456789012:role/r, aws-region: eu-west-2}\n"
    )
    login = "      - uses: aws-actions/amazon-ecr-login@v2\n"
    build = "      - uses: docker/build-push-action@v6\n        with: {{push: {push}}}\n"
    assert not inline(steps + build.format(push="true")).uses_standard_tooling
    assert not inline(steps + login + build.format(push="false")).uses_standard_tooling
    assert inline(steps + login + build.format(push="true")).uses_standard_tooling
    expression = "\"${{ github.event_name != 'pull_request' }}\""
    assert inline(steps + login + build.format(push=expression)).uses_standard_tooling


def test_a_secret_passed_as_a_build_arg_is_noted() -> None:
    job = inline(
        "on: push\njobs:\n  a:\n    steps:\n"
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "        with: {role-to-assume: arn:aws:iam::123456789012:role/r, aws-region: eu-west-2}\n"
        "      - name: Build\n"
        "        uses: docker/build-push-action@v6\n"
        "        with:\n"
        "          push: true\n"
        "          build-args: |\n"
        "            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n"
        "      - run: docker build --build-arg GH=${{ secrets.GH_PAT }} .\n"
        "      - run: docker build --build-arg SHA=${{ github.sha }} .\n"
    )
    noted = [note for note in job.notes if "passes a secret as a build arg" in note]
    assert [note.split(" passes")[0] for note in noted] == ["step 2 (Build)", "step 3"]


def test_ecrbot_push_is_standard_tooling() -> None:
    assert job_of("write_all.yml").uses_standard_tooling


# --- errors -----------------------------------------------------------------------------


def test_malformed_yaml_is_an_error_and_others_are_still_analysed() -> None:
    reports = reports_of(FIXTURES)
    broken = reports[".github/workflows/malformed.yml"]
    assert broken.jobs == ()
    assert broken.error is not None and broken.error.startswith("not valid YAML: line 9")
    assert reports[".github/workflows/runbook_example.yml"].jobs[0].id_token == "write"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- just\n- a list\n", "not a YAML mapping"),
        ("on: push\n", "no `jobs:` mapping"),
        ("jobs:\n  a:\n    steps: []\n", "no `on:` triggers"),
        ("on: push\njobs:\n  a: oops\n", "job `a` is not a mapping"),
    ],
)
def test_not_a_workflow(text: str, error: str) -> None:
    (report,) = analyse_workflows({"x.yml": text})
    assert report.error is not None and error in report.error


# --- the fix ----------------------------------------------------------------------------


def test_fix_keeps_existing_permissions_and_names_the_job() -> None:
    fix = permissions_fix(job_of("job_block_drops_id_token.yml", "build"))
    assert fix.startswith("# .github/workflows/job_block_drops_id_token.yml, job `build`")
    assert yaml.safe_load(fix) == {
        "jobs": {
            "build": {"permissions": {"contents": "read", "packages": "read", "id-token": "write"}}
        }
    }


def test_fix_for_default_names_contents_read() -> None:
    fix = yaml.safe_load(permissions_fix(job_of("no_permissions.yml")))
    assert fix["jobs"]["myrepo-test"]["permissions"] == {"contents": "read", "id-token": "write"}


def test_fix_for_called_job_goes_to_the_caller() -> None:
    (build,) = called_jobs("caller_without_id_token.yml")
    fix = permissions_fix(build)
    assert fix.startswith("# .github/workflows/caller_without_id_token.yml, job `publish`")
    assert "reusable_ecr_push" not in fix  # its own block already asks for id-token: write
    assert yaml.safe_load(fix)["jobs"]["publish"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
    }


def test_fix_for_called_job_lacking_its_own_grant_too() -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\njobs:\n  go:\n    uses: ./.github/workflows/r.yml\n",
        ".github/workflows/r.yml": "on: workflow_call\npermissions:\n  contents: read\n"
        "jobs:\n  push:\n    steps: []\n",
    }
    (push,) = reports_of(files)[".github/workflows/r.yml"].jobs
    first, second = permissions_fix(push).split("\n\n")
    assert "ci.yml, job `go`" in first and "r.yml, job `push`" in second
    assert yaml.safe_load(second)["jobs"]["push"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
    }


def test_invalid_block_value() -> None:
    job = inline("on: push\npermissions: read\njobs:\n  a:\n    steps: []\n")
    assert job.id_token_reason == (
        "workflow-level permissions are invalid (`permissions: read` is not read-all, "
        "write-all or a map), so GitHub rejects the workflow"
    )


def test_fix_when_nothing_is_missing() -> None:
    assert "already gets id-token: write" in permissions_fix(job_of("write_all.yml"))
