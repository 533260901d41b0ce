"""GitHub Actions workflows checked against the push runbook's troubleshooting list.

For each job: does it get `id-token: write` (and if not, why), which OIDC `sub` claims it can
present, which aws-actions/configure-aws-credentials steps it runs (role, region, audience,
static keys), whether it pushes with the standard tooling, and notes on its triggers and tags.
GitHub's rules (token permissions, OIDC subjects) live in `workflow_permissions`; this
module reads the files and the steps, and `notes.py` words the notes and the permissions fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import yaml

from bot.domain.bounded_yaml import LIMITS, Limits, TooBig, decode, load, strict_values
from bot.domain.text import code, plain
from bot.domain.workflow.notes import (
    never_token,
    pushes_with_actions,
    secret_build_arg_notes,
    step_label,
    tag_notes,
    trigger_notes,
)
from bot.domain.workflow.permissions import (
    Grant,
    IdToken,
    RefRule,
    Source,
    Verdict,
    decide,
    escape_claim,
    mapping_of,
    parse_permissions,
    parse_triggers,
    rule_subjects,
)

CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
MAX_NESTING = 4  # GitHub: "You can connect up to four levels of workflows."
_STANDARD = re.compile(r"ecr-build-push\.sh|\becrbot\s+push\b")


@dataclass(frozen=True)
class AwsStep:
    """A configure-aws-credentials step; `step_index` counts from 0 in the job's `steps`."""

    step_index: int
    uses: str
    role_to_assume: str | None
    aws_region: str | None
    audience: str | None  # None: the action's default, sts.amazonaws.com
    uses_static_keys: bool


@dataclass(frozen=True)
class JobAnalysis:
    """What one job gets from GitHub and does with AWS."""

    workflow: str
    job_id: str
    id_token: IdToken
    id_token_reason: str
    permissions_source: Source
    environment: str | None  # the name, or the raw `${{ }}` expression when dynamic
    aws_steps: tuple[AwsStep, ...]
    uses_standard_tooling: bool
    calls_reusable: str | None
    triggers: tuple[str, ...]  # of the run: for a called job, its caller's
    notes: tuple[str, ...]
    ref_rules: tuple[RefRule, ...] = ()
    declared: Grant | None = None  # the block its own file applies to it (job, else workflow)
    caller: JobAnalysis | None = None  # the job calling this one's (reusable) workflow
    workflow_name: str | None = None  # its file's `name:` (the `workflow` claim)
    # Why its runs never get an OIDC token whatever `permissions:` says (forks, Dependabot).
    never_token: str | None = None

    def subjects(self, repo: str, branch: str) -> tuple[str, ...]:
        """The OIDC `sub` claims this job can present; `repo` is "org/repo" as GitHub writes it."""
        # An environment wins over the ref, and only the event decides between `pull_request`
        # and `ref:` (docs: "OpenID Connect reference", Example subject claims). A repository
        # on immutable claims passes repo as "org@ID/repo@ID".
        prefix = f"repo:{repo}:"
        if self.environment is not None:
            return (f"{prefix}environment:{escape_claim(self.environment)}",)
        found = [prefix + sub for rule in self.ref_rules for sub in rule_subjects(rule, branch)]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class WorkflowReport:
    """One workflow file: its jobs, or why it could not be read."""

    workflow: str
    jobs: tuple[JobAnalysis, ...]
    error: str | None
    skipped: str | None = None  # what a bound left unread (the file, or some of its jobs)


class _Skipped(str):
    """Why a file was not read: a bound, not a mistake in the file."""


def analyse_workflows(
    files: Mapping[str, bytes | str | None], limits: Limits = LIMITS
) -> tuple[WorkflowReport, ...]:
    """Analyse every workflow file (path -> its bytes; None: not read because there were too
    many). A broken or oversized file gets `error` naming why; this never raises."""
    parsed: dict[str, _Workflow | str] = {}
    for index, (path, raw) in enumerate(sorted(files.items())):
        if raw is None or index >= limits.files:
            parsed[path] = _Skipped(
                f"more than {limits.files} workflow files; this one was not read"
            )
        else:
            parsed[path] = _parse(path, raw, limits)
    called = {t for wf in parsed.values() if isinstance(wf, _Workflow) for t in _local_calls(wf)}
    jobs: dict[str, list[JobAnalysis]] = {path: [] for path in parsed}
    budget = _Budget(limits.analysed_jobs)
    for path, wf in parsed.items():
        # A workflow that only runs when called is analysed under each caller instead.
        if isinstance(wf, str) or (wf.triggers == ("workflow_call",) and _norm(path) in called):
            continue
        for job_id, job in wf.jobs:
            if budget.take(path):
                _add(_analyse_job(wf, job_id, job, None), parsed, jobs, 1, budget)
    reports = []
    for path, wf in sorted(parsed.items()):
        error = wf if isinstance(wf, str) and not isinstance(wf, _Skipped) else None
        skipped = wf if isinstance(wf, _Skipped) else None
        if isinstance(wf, _Workflow) and wf.unread_jobs:
            skipped = _Skipped(
                f"{wf.unread_jobs} of its jobs were not read: ecrbot reads {limits.jobs} per file"
            )
        if skipped is None and budget.skipped.get(path):
            skipped = _Skipped(
                f"{budget.skipped[path]} of its jobs were not analysed: a diagnose stops at "
                f"{limits.analysed_jobs} jobs in all"
            )
        reports.append(WorkflowReport(path, tuple(jobs[path]), error, skipped))
    return tuple(reports)


@dataclass
class _Budget:
    """Jobs one diagnose may analyse, reusable-workflow calls included (they multiply)."""

    left: int
    skipped: dict[str, int] = field(default_factory=dict)

    def take(self, workflow: str) -> bool:
        if self.left > 0:
            self.left -= 1
            return True
        self.skipped[workflow] = self.skipped.get(workflow, 0) + 1
        return False


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads scalars as GitHub does (YAML 1.2): only true/false are booleans."""


# PyYAML follows YAML 1.1: `on`, `off`, `yes` and `no` are booleans (so `on:` is the key True)
# and `1:30` is the number 90. Keep null, merge keys and true/false; every other plain
# scalar stays the string the author wrote, which is all this analysis reads.
_KEEP = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in _KEEP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


strict_values(_Loader)


@dataclass(frozen=True)
class _Workflow:
    path: str
    triggers: tuple[str, ...]
    rules: tuple[RefRule, ...]
    block: Grant | None
    env: dict[str, object]
    jobs: tuple[tuple[str, dict[str, object]], ...]
    unread_jobs: int = 0
    name: str | None = None


def _parse(path: str, raw: bytes | str, limits: Limits) -> _Workflow | str:
    try:
        text = raw if isinstance(raw, str) else decode(raw, limits)
        if len(text) > limits.file_bytes:
            raise TooBig(f"larger than {limits.file_bytes // 1024} KiB; not read")
        data = load(text, _Loader, limits)
    except TooBig as exc:
        return _Skipped(str(exc))
    except UnicodeDecodeError as exc:
        return _Skipped(f"not UTF-8 text (byte {exc.start}); not read")
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"not valid YAML: {where}{plain(problem or str(exc).splitlines()[0], 200)}"
    except RecursionError:  # belt and braces: the depth check should have refused it
        return "nested too deeply; not read"
    if not isinstance(data, dict):
        return "not a workflow: the file is not a YAML mapping"
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return "not a workflow: it has no `jobs:` mapping"
    if "on" not in data:
        return "not a workflow: it has no `on:` triggers"
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            return f"job {code(job_id)} is not a mapping"
    triggers, rules = parse_triggers(data["on"])
    block = parse_permissions(data["permissions"]) if "permissions" in data else None
    job_list = tuple((str(job_id), job) for job_id, job in jobs.items())
    unread = max(0, len(job_list) - limits.jobs)
    name = data.get("name")
    return _Workflow(
        path,
        triggers,
        rules,
        block,
        mapping_of(data.get("env")),
        job_list[: limits.jobs],
        unread,
        plain(str(name), 200) if isinstance(name, str | int | float) else None,
    )


def _analyse_job(
    wf: _Workflow, job_id: str, job: dict[str, object], caller: JobAnalysis | None
) -> JobAnalysis:
    job_block = parse_permissions(job["permissions"]) if "permissions" in job else None
    declared = job_block if job_block is not None else wf.block
    if caller is None and wf.triggers == ("workflow_call",) and declared is None:
        verdict = Verdict(
            "none",
            "it only runs when called, with its caller's permissions, and "
            "no job in this repository calls it",
            "caller",
        )
    else:
        ceiling = (f"{caller.workflow} job `{caller.job_id}`", caller.id_token) if caller else None
        verdict = decide(job_block, wf.block, ceiling)
    triggers, rules = (caller.triggers, caller.ref_rules) if caller else (wf.triggers, wf.rules)
    never = caller.never_token if caller else never_token(triggers, rules, str(job.get("if", "")))
    if never is not None and verdict.id_token == "write":  # noqa: S105 (a permission level)
        verdict = Verdict("none", f"{never}, whose runs never get an OIDC token", verdict.source)
    raw_env = job.get("environment")
    env_name = mapping_of(raw_env).get("name") if isinstance(raw_env, dict) else raw_env
    environment = None if env_name is None else str(env_name)
    uses, raw_steps = job.get("uses"), job.get("steps")
    calls = uses if isinstance(uses, str) else None
    steps = (
        [mapping_of(s) for s in raw_steps if isinstance(s, dict)]
        if isinstance(raw_steps, list)
        else []
    )
    env = {**wf.env, **mapping_of(job.get("env"))}
    aws = tuple(
        _aws_step(i, step, {**env, **mapping_of(step.get("env"))})
        for i, step in enumerate(steps)
        if str(step.get("uses", "")).lower().startswith(CONFIGURE_AWS)
    )
    standard = pushes_with_actions(steps) or any(
        _STANDARD.search(str(step.get("run", ""))) for step in steps
    )
    notes: list[str] = []
    if calls is not None and not calls.startswith("./"):
        notes.append(
            f"calls {plain(calls)} from another repository: its jobs get at most this job's "
            f"id-token: {verdict.id_token}"
        )
    if aws or calls is not None:
        notes += trigger_notes(triggers, rules, str(job.get("if", "")))
    called_only = caller is None and triggers == ("workflow_call",)
    if called_only and verdict.id_token == "write":  # noqa: S105 (a permission level)
        notes.append("it only runs when called: the calling job must grant id-token: write too")
    if environment is not None and "${{" in environment:
        notes.append(
            f"environment {code(environment)} is an expression: the OIDC subject is "
            "repo:ORG/REPO:environment:<its value at run time>"
        )
    for step in aws:
        label = step_label(step.step_index, steps[step.step_index])
        if step.uses_static_keys:
            notes.append(
                f"{label} passes aws-access-key-id/aws-secret-access-key: long-lived keys, "
                "which the runbook forbids; use role-to-assume (OIDC)"
            )
        elif step.role_to_assume is None:
            notes.append(f"{label} has no role-to-assume, so it cannot use OIDC")
    notes += tag_notes(steps, standard)
    notes += secret_build_arg_notes(steps)
    return JobAnalysis(
        wf.path,
        job_id,
        verdict.id_token,
        verdict.reason,
        verdict.source,
        environment,
        aws,
        standard,
        calls,
        triggers,
        tuple(notes),
        rules,
        declared,
        caller,
        wf.name if caller is None else caller.workflow_name,
        never,
    )


def _aws_step(index: int, step: dict[str, object], env: dict[str, object]) -> AwsStep:
    given = mapping_of(step.get("with"))

    def value(key: str) -> str | None:
        raw = given.get(key)
        if raw is None:
            return None
        # Resolve `${{ env.X }}` from the step, job and workflow env (a cheap, common case).
        found = re.fullmatch(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", str(raw).strip())
        return str(env[found.group(1)]) if found and found.group(1) in env else str(raw)

    static = bool(given.get("aws-access-key-id") or given.get("aws-secret-access-key"))
    return AwsStep(
        index,
        str(step["uses"]),
        value("role-to-assume"),
        value("aws-region"),
        value("audience"),
        static,
    )


def _local_calls(wf: _Workflow) -> set[str]:
    calls = (str(job.get("uses", "")) for _, job in wf.jobs)
    return {_norm(uses) for uses in calls if uses.startswith("./")}


def _norm(path: str) -> str:
    path = path.removeprefix("./")
    return path.split("@", 1)[0]


def _add(
    analysis: JobAnalysis,
    parsed: Mapping[str, _Workflow | str],
    jobs: dict[str, list[JobAnalysis]],
    depth: int,
    budget: _Budget,
) -> None:
    """Record a job, then analyse the same-repository workflow it calls under its permissions."""
    calls = analysis.calls_reusable
    if calls is None or not calls.startswith("./"):
        jobs[analysis.workflow].append(analysis)
        return
    target = next((path for path in parsed if _norm(path) == _norm(calls)), None)
    if target is None:
        missing = f"calls {calls}, which is not among this repository's workflow files"
        analysis = replace(analysis, notes=(*analysis.notes, missing))
    jobs[analysis.workflow].append(analysis)
    wf = parsed.get(target) if target is not None else None
    if isinstance(wf, _Workflow) and depth < MAX_NESTING:
        for job_id, job in wf.jobs:
            if budget.take(wf.path):
                _add(_analyse_job(wf, job_id, job, analysis), parsed, jobs, depth + 1, budget)
