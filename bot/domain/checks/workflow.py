"""The app's GitHub Actions workflows: id-token, region, role, keys, tooling (runbook checklist)."""

from __future__ import annotations

from bot.domain.checks.common import could_not
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.text import plain
from bot.domain.workflow.analysis import JobAnalysis, permissions_fix

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


def workflow_checks(facts: AppFacts) -> list[CheckResult]:
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
    jobs = aws_jobs(facts)
    if not jobs:
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
    for job in jobs:
        results += _job_checks(facts, job)
    return results


def _job_checks(facts: AppFacts, job: JobAnalysis) -> list[CheckResult]:
    where = f"{job.workflow}#{job.job_id}"
    results = [_id_token(job, where)]
    for step in job.aws_steps:
        results.append(_region(facts, step.aws_region, where, job.job_id))
        if facts.role_arn and step.role_to_assume and "${{" not in step.role_to_assume:
            same = step.role_to_assume == facts.role_arn
            results.append(
                CheckResult(
                    "workflow.role",
                    Status.PASS if same else Status.WARN,
                    f"{plain(where)} assumes {plain(step.role_to_assume)}"
                    + ("." if same else f", not the catalog's {facts.role_arn}."),
                    "" if same else f"role-to-assume: {facts.role_arn}",
                    where,
                    job.job_id,
                )
            )
        if step.uses_static_keys:
            results.append(
                CheckResult(
                    "workflow.static_keys",
                    Status.FAIL,
                    f"{plain(where)} passes long-lived access keys to configure-aws-credentials.",
                    "Remove aws-access-key-id/aws-secret-access-key, grant `id-token: write` and "
                    "use "
                    "`role-to-assume` (OIDC); then deactivate the keys.",
                    where,
                    job.job_id,
                )
            )
    if not job.uses_standard_tooling:
        results.append(
            CheckResult(
                "workflow.tooling",
                Status.WARN,
                f"{plain(where)} does not push with the standard tooling "
                "(ecr-build-push.sh, ecrbot push, or aws-actions/amazon-ecr-login with "
                "docker/build-push-action).",
                "- run: ecrbot push --registry <registry> --name <app> --sha ${{ github.sha }}",
                where,
                job.job_id,
            )
        )
    results += [
        CheckResult("workflow.notes", Status.WARN, f"{plain(where)}: {note}", "", where, job.job_id)
        for note in job.notes
    ]
    return results


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
