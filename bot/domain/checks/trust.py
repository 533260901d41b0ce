"""trust.role, trust.subject, trust.hygiene: may each job's token assume the app's role?

The request is the one STS evaluates (issue #15): the `sub` in the form GitHub presents for the
repository (its `sub_claim_prefix` when ecrbot has a token, else both forms), and the claims
STS passes besides `sub` and `aud` (`repository`, `repository_id`, `ref`, `environment`,
`workflow`, `job_workflow_ref`; `actor`, `actor_id` and `enterprise_id` only the run knows).
"""

from __future__ import annotations

import json

from bot.domain.checks.common import could_not, provider_arn, skipped
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.workflow import aws_jobs
from bot.domain.iam.conditions import required_values
from bot.domain.iam.github_claims import RUN_TIME_CLAIMS
from bot.domain.iam.policy import Policy, Unreadable
from bot.domain.iam.trust import (
    OidcRequest,
    TrustDecision,
    evaluate_trust,
    suggest_trust_statement,
    trust_findings,
)
from bot.domain.workflow.subject_forms import (
    IMMUTABLE_SINCE,
    candidate_prefixes,
    form_of,
    how_to_find,
    immutable,
    prefix_ids,
)
from bot.domain.workflow.subjects import Subject, job_subjects

AUDIENCE = "sts.amazonaws.com"
SUB = "token.actions.githubusercontent.com:sub"
# One run of one job: the subject in each form ecrbot must try (one when GitHub said which).
Run = tuple[tuple[Subject, ...], str | None]


def subject_runs(facts: AppFacts, policy: Policy | None = None) -> list[Run]:
    """The `sub` claims the app's role must accept, per run, with the job presenting each."""
    if not facts.github:
        return []
    template = facts.subject_template
    patterns = (
        [v for s in policy.statements for _, v in required_values(s.conditions, SUB)]
        if (policy)
        else []
    )
    prefixes = candidate_prefixes(facts.github, template.prefix, template.claims, patterns)
    found: dict[str, Run] = {}
    for job in aws_jobs(facts):
        if facts.role_arn and any(
            s.role_to_assume not in (None, facts.role_arn) and "${{" not in str(s.role_to_assume)
            for s in job.aws_steps
        ):
            continue  # that job assumes another role
        if job.never_token:
            continue  # it never gets a token: workflow.id_token says so
        forms = [
            job_subjects(job, facts.github, facts.branch, template, prefix) for prefix in prefixes
        ]
        for group in zip(*forms, strict=True):
            # A template without the `repo` key presents the same subject in both forms.
            unique = tuple({s.value: s for s in group}.values())
            found.setdefault(group[0].value, (unique, f"{job.workflow}#{job.job_id}"))
    if template.is_default:
        endings = [f"environment:{facts.environment}"] if facts.environment else []
        if not found:
            endings.append(f"ref:refs/heads/{facts.branch}")
        for ending in endings:
            group = tuple(Subject(f"{p}:{ending}", form=form_of(p)) for p in prefixes)
            found.setdefault(group[0].value, (group, None))
    return list(found.values())


def trust_policy(facts: AppFacts) -> list[CheckResult]:
    if not facts.role_arn:
        return [skipped("trust.role", "The catalog names no CI role for this app.", facts.app)]
    if not facts.role.ok:
        return [could_not("trust.role", facts.role, facts.role_arn)]
    role = facts.role.value
    if role is None:
        return [
            CheckResult(
                "trust.role",
                Status.FAIL,
                f"Role {facts.role_arn} does not exist.",
                "Create it with the trust statement below, or fix `role` in the catalog.",
                facts.role_arn,
            )
        ]
    if not facts.github:
        return [
            skipped(
                "trust.subject", "No GitHub repository known: set `github: owner/repo`.", role.arn
            )
        ]
    arn = provider_arn(facts.account_id)
    runs = subject_runs(facts, role.trust if isinstance(role.trust, Policy) else None)
    fix = _fix(facts, arn, runs)
    if isinstance(role.trust, Unreadable):
        # AWS refuses to save a document like this one (MalformedPolicyDocument): whatever it
        # was meant to say, no job can assume the role through it as written.
        return [
            CheckResult(
                "trust.subject",
                Status.FAIL,
                f"The trust policy of {role.arn} can't be saved as written: AWS would refuse it "
                f"({role.trust.reason}), so no job can assume the role through it.",
                f"Replace the trust policy's statement for GitHub with this one:{fix}",
                role.arn,
            )
        ]
    results = [_run_result(facts, role.arn, role.trust, arn, run, fix) for run in runs]
    for finding in trust_findings(role.trust, arn):
        results.append(
            CheckResult(
                "trust.hygiene",
                Status.FAIL if finding.severity == "fail" else Status.WARN,
                f"{role.arn}: {finding.message} ({finding.statement})",
                f"Narrow the statement to the app's own subjects:{fix}",
                role.arn,
            )
        )
    return results


def _decide(policy: Policy, arn: str, subject: Subject) -> TrustDecision:
    request = OidcRequest(arn, subject.value, AUDIENCE, subject.claims, subject.unknown)
    return evaluate_trust(policy, request)


def _run_result(
    facts: AppFacts, role: str, policy: Policy, arn: str, run: Run, fix: str
) -> CheckResult:
    group, job = run
    where = f" ({job})" if job else ""
    job_id = job.split("#", 1)[1] if job else None
    decisions = [_decide(policy, arn, subject) for subject in group]
    first, decision = group[0], decisions[0]
    if len(group) == 2 and decisions[0].allowed != decisions[1].allowed:
        yes, no = (group[0], group[1]) if decisions[0].allowed else (group[1], group[0])
        return CheckResult(
            "trust.subject",
            Status.WARN,
            f"{role} trusts {yes.value}{where} but not {no.value}: it works only if "
            f"{facts.github} presents the {yes.form} form. Repositories created, renamed or "
            f"transferred on or after {IMMUTABLE_SINCE} (or opted in) present the immutable "
            "form repo:OWNER@OWNER_ID/REPO@REPO_ID:...; older ones the name-only form "
            f"repo:OWNER/REPO:... ecrbot has no GITHUB_TOKEN to ask which: "
            f"{how_to_find(str(facts.github))}.",
            f"Trust the form the repository presents, or both while you find out:{fix}",
            role,
            job_id,
        )
    depends = [d for d in decisions if d.depends]
    if depends and not all(d.allowed for d in decisions):
        quoted = "; ".join(depends[0].depends)
        on_runner = all(RUN_TIME_CLAIMS["actor"] in line for line in depends[0].depends)
        what = "who runs it" if on_runner else "what ecrbot can't know before the run"
        return CheckResult(
            "trust.subject",
            Status.WARN,
            f"Whether {role} trusts {first.value}{where} depends on {what}: {quoted}.",
            "Nothing to change if those conditions name the people and runs you mean; "
            "ecrbot can't check them before the run.",
            role,
            job_id,
        )
    status = Status.PASS if decision.allowed else Status.FAIL
    caveat = ""
    if first.run_time:
        # A claim only a run knows (actor, sha...) is shown as `*`: a refusal may be ours.
        status = Status.PASS if decision.allowed else Status.WARN
        caveat = (
            f" The subject holds {', '.join(first.run_time)}, known only when the job runs: "
            "ecrbot checked it as `*`."
        )
    if len(group) == 2 and decision.allowed:
        caveat += f" It also trusts {group[1].value}: either subject form works."
    elif len(group) == 1 and facts.subject_template.prefix:
        caveat += f" (GitHub's `sub_claim_prefix` for {facts.github}.)"
    misses = "".join(f" Near miss: {miss}" for miss in decision.near_misses)
    return CheckResult(
        "trust.subject",
        status,
        f"{role} {'trusts' if decision.allowed else 'does not trust'} {first.value}{where}: "
        f"{decision.reason}{misses}{caveat}",
        "" if decision.allowed else f"Add this statement to the role's trust policy:{fix}",
        role,
        job_id,
    )


def _fix(facts: AppFacts, arn: str, runs: list[Run]) -> str:
    """The pasteable statement (on the lines after the first): the subjects in the form the
    repository presents; both forms when ecrbot can't tell, or, before a rename or transfer
    moves it to the immutable form, a note saying so."""
    listed = [subject.value for group, _ in runs for subject in group]
    if not listed:
        listed = [f"repo:{facts.github}:ref:refs/heads/{facts.branch}"]
    unique = list(dict.fromkeys(listed))
    statement = json.dumps(suggest_trust_statement(arn, unique, AUDIENCE), indent=2)
    template = facts.subject_template
    note = ""
    if runs and all(len(group) == 2 for group, _ in runs):
        found = how_to_find(str(facts.github))
        note = f" (It lists both forms; which one the repository has: {found}.)"
    claims = template.claims
    if template.prefix and not prefix_ids(template.prefix) and "repository_id" in claims:
        owner_id = claims.get("repository_owner_id", "OWNER_ID")
        later = immutable(str(facts.github), owner_id, claims["repository_id"])
        note = (
            f" (Before renaming or transferring the repository, which moves it to the immutable "
            f"form, add the same subjects starting `{later}:` as well.)"
        )
    return f"{note}\n{statement}"
