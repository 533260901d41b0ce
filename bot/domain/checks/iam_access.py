"""AWS access: the OIDC provider, the subjects jobs present, and the role's trust policy.

What the role may do once assumed (and IAM users with keys) is in `privilege.py`.
"""

from __future__ import annotations

import json

from bot.domain.checks.common import could_not, provider_arn, skipped
from bot.domain.checks.model import AppFacts, CheckResult, Role, Status
from bot.domain.checks.registry import app_check
from bot.domain.checks.workflow import aws_jobs
from bot.domain.iam.policy import Unreadable
from bot.domain.iam.trust import (
    OidcRequest,
    evaluate_trust,
    suggest_trust_statement,
    trust_findings,
)
from bot.domain.workflow.subjects import Subject, job_subjects

AUDIENCE = "sts.amazonaws.com"
GITHUB = "token.actions.githubusercontent.com"


@app_check(
    "oidc.provider", "token.actions.githubusercontent.com exists and lists sts.amazonaws.com"
)
def oidc_provider(facts: AppFacts) -> list[CheckResult]:
    arn = provider_arn(facts.account_id)
    if not facts.provider.ok:
        return [could_not("oidc.provider", facts.provider, arn)]
    provider = facts.provider.value
    if provider is None:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"Account {facts.account_id} has no OIDC provider for {GITHUB}.",
                f"aws iam create-open-id-connect-provider --url https://{GITHUB} "
                f"--client-id-list {AUDIENCE}",
                arn,
            )
        ]
    if AUDIENCE not in provider.audiences:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"{provider.arn} does not list the audience {AUDIENCE} "
                f"(it lists {', '.join(provider.audiences) or 'none'}).",
                f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "
                f"{provider.arn} --client-id {AUDIENCE}",
                provider.arn,
            )
        ]
    return [
        CheckResult(
            "oidc.provider",
            Status.PASS,
            f"{provider.arn} exists and lists {AUDIENCE}.",
            resource=provider.arn,
        )
    ]


@app_check(
    "oidc.subject",
    "which claims make up the jobs' `sub`: GitHub's API, the catalog's "
    "`oidc_subject_keys`, or the default assumed",
)
def subject_template(facts: AppFacts) -> list[CheckResult]:
    """oidc.subject: which claims make up the jobs' `sub`, and how ecrbot knows."""
    if not facts.github:
        return []
    template = facts.subject_template
    keys = ", ".join(template.keys)
    where = facts.github
    if template.problem:
        return [
            CheckResult(
                "oidc.subject",
                Status.WARN,
                f"The subject template of {where} could not be read ({template.problem}): "
                f"{template.source} ({keys}) is used.",
                "Give ecrbot a GITHUB_TOKEN that may read the repository's Actions OIDC "
                "settings, or set `oidc_subject_keys` on the app in the catalog.",
                where,
            )
        ]
    if template.assumed:
        return [
            skipped(
                "oidc.subject",
                f"Jobs are assumed to present GitHub's default subject ({keys}): ecrbot has no "
                "GITHUB_TOKEN to read the repository's template, and the catalog sets no "
                "`oidc_subject_keys` for the app.",
                where,
            )
        ]
    return [
        CheckResult(
            "oidc.subject",
            Status.PASS,
            f"Jobs of {where} present `sub` as {keys} ({template.source}).",
            resource=where,
        )
    ]


def subjects(facts: AppFacts) -> list[tuple[Subject, str | None]]:
    """The `sub` claims the app's role must accept, with the job presenting each."""
    found: dict[str, tuple[Subject, str | None]] = {}
    if facts.github:
        for job in aws_jobs(facts):
            if facts.role_arn and any(
                s.role_to_assume not in (None, facts.role_arn)
                and "${{" not in str(s.role_to_assume)
                for s in job.aws_steps
            ):
                continue  # that job assumes another role
            if job.never_token:
                continue  # it never gets a token: workflow.id_token says so
            for subject in job_subjects(job, facts.github, facts.branch, facts.subject_template):
                found.setdefault(subject.value, (subject, f"{job.workflow}#{job.job_id}"))
        if facts.environment and facts.subject_template.is_default:
            env = f"repo:{facts.github}:environment:{facts.environment}"
            found.setdefault(env, (Subject(env), None))
        if not found and facts.subject_template.is_default:
            default = f"repo:{facts.github}:ref:refs/heads/{facts.branch}"
            found[default] = (Subject(default), None)
    return list(found.values())


@app_check("trust.role", "the app's CI role exists")
def trust_role(facts: AppFacts) -> list[CheckResult]:
    """Silent when the role exists: trust.subject and trust.hygiene then say what it trusts."""
    if not facts.role_arn:
        return [skipped("trust.role", "The catalog names no CI role for this app.", facts.app)]
    if not facts.role.ok:
        return [could_not("trust.role", facts.role, facts.role_arn)]
    if facts.role.value is None:
        return [
            CheckResult(
                "trust.role",
                Status.FAIL,
                f"Role {facts.role_arn} does not exist.",
                "Create it with the trust statement below, or fix `role` in the catalog.",
                facts.role_arn,
            )
        ]
    return []


def _existing_role(facts: AppFacts) -> Role | None:
    """The CI role, when trust.role found it (else that check has said why)."""
    return facts.role.value if facts.role_arn and facts.role.ok else None


def _suggested_statement(facts: AppFacts) -> str:
    """The trust statement for the subjects the app's jobs present (the fixes paste it)."""
    wanted = subjects(facts)
    listed = [s.value for s, _ in wanted] or [f"repo:{facts.github}:ref:refs/heads/{facts.branch}"]
    arn = provider_arn(facts.account_id)
    return json.dumps(suggest_trust_statement(arn, listed, AUDIENCE), indent=2)


@app_check(
    "trust.subject",
    "the role's trust policy accepts each subject the jobs present (and is a policy AWS "
    "would save)",
)
def trust_subject(facts: AppFacts) -> list[CheckResult]:
    role = _existing_role(facts)
    if role is None:
        return []
    if not facts.github:
        return [
            skipped(
                "trust.subject", "No GitHub repository known: set `github: owner/repo`.", role.arn
            )
        ]
    arn = provider_arn(facts.account_id)
    wanted = subjects(facts)
    statement = _suggested_statement(facts)
    if isinstance(role.trust, Unreadable):
        # AWS refuses to save a document like this one (MalformedPolicyDocument): whatever it
        # was meant to say, no job can assume the role through it as written.
        return [
            CheckResult(
                "trust.subject",
                Status.FAIL,
                f"The trust policy of {role.arn} can't be saved as written: AWS would refuse it "
                f"({role.trust.reason}), so no job can assume the role through it.",
                f"Replace the trust policy's statement for GitHub with this one:\n{statement}",
                role.arn,
            )
        ]
    results = []
    for subject, job in wanted:
        decision = evaluate_trust(role.trust, OidcRequest(arn, subject.value, AUDIENCE))
        misses = "".join(f" Near miss: {miss}" for miss in decision.near_misses)
        status = Status.PASS if decision.allowed else Status.FAIL
        caveat = ""
        if subject.run_time:
            # A claim only a run knows (actor, sha...) is shown as `*`: a refusal may be ours.
            status = Status.PASS if decision.allowed else Status.WARN
            caveat = (
                f" The subject holds {', '.join(subject.run_time)}, known only when the job "
                "runs: ecrbot checked it as `*`."
            )
        results.append(
            CheckResult(
                "trust.subject",
                status,
                f"{role.arn} {'trusts' if decision.allowed else 'does not trust'} {subject.value}"
                f"{f' ({job})' if job else ''}: {decision.reason}{misses}{caveat}",
                ""
                if decision.allowed
                else f"Add this statement to the role's trust policy:\n{statement}",
                role.arn,
                job.split("#", 1)[1] if job else None,
            )
        )
    return results


@app_check(
    "trust.hygiene",
    "trust statements have `aud` and `sub` conditions and no org/repo wildcards",
)
def trust_hygiene(facts: AppFacts) -> list[CheckResult]:
    role = _existing_role(facts)
    if role is None or not facts.github or isinstance(role.trust, Unreadable):
        return []  # trust.role or trust.subject says why
    arn = provider_arn(facts.account_id)
    statement = _suggested_statement(facts)
    results = []
    for finding in trust_findings(role.trust, arn):
        results.append(
            CheckResult(
                "trust.hygiene",
                Status.FAIL if finding.severity == "fail" else Status.WARN,
                f"{role.arn}: {finding.message} ({finding.statement})",
                f"Narrow the statement to the app's own subjects:\n{statement}",
                role.arn,
            )
        )
    return results
