"""The app's GitHub Actions workflows: id-token, region, role, keys, tooling (runbook checklist)."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.registry import app_check
from bot.domain.text import plain
from bot.domain.workflow.analysis import AwsStep, JobAnalysis
from bot.domain.workflow.notes import permissions_fix

RUNBOOK_SNIPPET = """jobs:
  build-and-push:
    permissions:
      id-token: write # Required for OIDC
      contents: read
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: {role}
          aws-region: {region}"""


def aws_jobs(facts: AppFacts) -> list[JobAnalysis]:
    """Jobs that assume an AWS role with configure-aws-credentials."""
    reports = facts.workflows.value or ()
    return [job for report in reports for job in report.jobs if job.aws_steps]


@app_check("workflow.present", "a workflow on the branch assumes an AWS role; workflow files parse")
def workflow_present(facts: AppFacts) -> list[CheckResult]:
    if not facts.workflows.ok:
        return [could_not("workflow.present", facts.workflows, f"{facts.app}@{facts.branch}")]
    results = [
        CheckResult(
            "workflow.present",
            Status.WARN,
            f"{plain(report.workflow)} could not be read: {report.error}",
            "Fix the YAML; GitHub will not run it either.",
            report.workflow,
        )
        for report in facts.workflows.value or ()
        if report.error
    ]
    results += [
        CheckResult(
            "workflow.present",
            Status.WARN,
            f"{plain(report.workflow)} was not fully read: {report.skipped}",
            "ecrbot bounds what it reads of a repository; check this workflow by hand, "
            "or split it into smaller files.",
            report.workflow,
        )
        for report in facts.workflows.value or ()
        if report.skipped
    ]
    if not aws_jobs(facts):
        role = facts.role_arn or "arn:aws:iam::<account-id>:role/<app-role-name>"
        results.append(
            CheckResult(
                "workflow.present",
                Status.WARN,
                f"No workflow on {plain(facts.branch)} assumes an AWS role with "
                "aws-actions/configure-aws-credentials.",
                RUNBOOK_SNIPPET.format(role=role, region=facts.region),
                f"{facts.app}@{facts.branch}",
            )
        )
    return results


def _where(job: JobAnalysis) -> str:
    return f"{job.workflow}#{job.job_id}"


def _steps(facts: AppFacts) -> list[tuple[JobAnalysis, AwsStep]]:
    return [(job, step) for job in aws_jobs(facts) for step in job.aws_steps]


@app_check(
    "workflow.id_token", "each AWS job gets `id-token: write` under GitHub's permission rules"
)
def workflow_id_token(facts: AppFacts) -> list[CheckResult]:
    return [_id_token(job, _where(job)) for job in aws_jobs(facts)]


@app_check("workflow.region", "each AWS job's `aws-region` is the registry's region")
def workflow_region(facts: AppFacts) -> list[CheckResult]:
    return [_region(facts, step.aws_region, _where(job), job.job_id) for job, step in _steps(facts)]


@app_check("workflow.role", "each AWS job's `role-to-assume` is the catalog's role")
def workflow_role(facts: AppFacts) -> list[CheckResult]:
    results = []
    for job, step in _steps(facts):
        # A role from an expression (`${{ vars.ROLE }}`) is only known when the job runs.
        if facts.role_arn and step.role_to_assume and "${{" not in step.role_to_assume:
            same = step.role_to_assume == facts.role_arn
            results.append(
                CheckResult(
                    "workflow.role",
                    Status.PASS if same else Status.WARN,
                    f"{plain(_where(job))} assumes {plain(step.role_to_assume)}"
                    + ("." if same else f", not the catalog's {facts.role_arn}."),
                    "" if same else f"role-to-assume: {facts.role_arn}",
                    _where(job),
                    job.job_id,
                )
            )
    return results


@app_check("workflow.static_keys", "no job passes long-lived access keys")
def workflow_static_keys(facts: AppFacts) -> list[CheckResult]:
    return [
        CheckResult(
            "workflow.static_keys",
            Status.FAIL,
            f"{plain(_where(job))} passes long-lived access keys to configure-aws-credentials.",
            "Remove aws-access-key-id/aws-secret-access-key, grant `id-token: write` and use "
            "`role-to-assume` (OIDC); then deactivate the keys.",
            _where(job),
            job.job_id,
        )
        for job, step in _steps(facts)
        if step.uses_static_keys
    ]


@app_check(
    "workflow.tooling",
    "jobs push with the standard tooling (`ecr-build-push.sh`, `ecrbot push`, or "
    "`aws-actions/amazon-ecr-login` with `docker/build-push-action`); a secret passed as a "
    "build arg is noted",
)
def workflow_tooling(facts: AppFacts) -> list[CheckResult]:
    return [
        CheckResult(
            "workflow.tooling",
            Status.WARN,
            f"{plain(_where(job))} does not push with the standard tooling "
            "(ecr-build-push.sh, ecrbot push, or aws-actions/amazon-ecr-login with "
            "docker/build-push-action).",
            "- run: ecrbot push --registry <registry> --name <app> --sha ${{ github.sha }}",
            _where(job),
            job.job_id,
        )
        for job in aws_jobs(facts)
        if not job.uses_standard_tooling
    ]


@app_check(
    "workflow.notes",
    "caveats: fork pull requests, Dependabot, dynamic environments, latest tags",
)
def workflow_notes(facts: AppFacts) -> list[CheckResult]:
    return [
        CheckResult(
            "workflow.notes",
            Status.WARN,
            f"{plain(_where(job))}: {note}",
            "",
            _where(job),
            job.job_id,
        )
        for job in aws_jobs(facts)
        for note in job.notes
    ]


def _id_token(job: JobAnalysis, where: str) -> CheckResult:
    if job.id_token == "write":  # noqa: S105 (a permission level)
        return CheckResult(
            "workflow.id_token",
            Status.PASS,
            f"{plain(where)} gets `id-token: write` ({job.id_token_reason}).",
            "",
            where,
            job.job_id,
        )
    fix = permissions_fix(job)
    if job.never_token:
        # No `permissions:` block helps: GitHub withholds the token from these runs.
        fix = (
            "Push from a run GitHub gives a token to: `on: push` to the default branch, a tag, "
            "or `workflow_dispatch`; keep forks and Dependabot out of the AWS job with `if: "
            "github.actor != 'dependabot[bot]' && !github.event.pull_request.head.repo.fork`."
        )
    return CheckResult(
        "workflow.id_token",
        Status.FAIL,
        f"{plain(where)} gets no OIDC token: {job.id_token_reason}.",
        fix,
        where,
        job.job_id,
    )


def _region(facts: AppFacts, region: str | None, where: str, job_id: str) -> CheckResult:
    if region is None:
        return CheckResult(
            "workflow.region",
            Status.WARN,
            f"{plain(where)} sets no aws-region.",
            f"aws-region: {facts.region}",
            where,
            job_id,
        )
    if "${{" in region:
        return CheckResult(
            "workflow.region",
            Status.SKIP,
            f"{plain(where)} takes aws-region from an expression ({plain(region)}).",
            "",
            where,
            job_id,
        )
    if region != facts.region:
        return CheckResult(
            "workflow.region",
            Status.FAIL,
            f"{plain(where)} authenticates in {plain(region)}, "
            f"but the registry is in {facts.region}.",
            f"aws-region: {facts.region}",
            where,
            job_id,
        )
    return CheckResult(
        "workflow.region",
        Status.PASS,
        f"{plain(where)} uses {region}, the registry's region.",
        "",
        where,
        job_id,
    )
