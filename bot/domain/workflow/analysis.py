"""GitHub Actions workflows checked against the push runbook's troubleshooting list.

For each job: does it get `id-token: write` (and if not, why), which OIDC `sub` claims it can
present, which aws-actions/configure-aws-credentials steps it runs (role, region, audience,
static keys), whether it pushes with the standard tooling, and notes on its triggers and tags.
GitHub's rules (token permissions, OIDC subjects) live in `workflow_permissions`; this
module reads the files and the steps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import yaml

from bot.domain.bounded_yaml import LIMITS, Limits, TooBig, decode, load, strict_values
from bot.domain.text import code, plain
from bot.domain.workflow.permissions import (
    DEFAULT,
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
    runs_on_branch,
)

CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
MAX_NESTING = 4  # GitHub: "You can connect up to four levels of workflows."
_STANDARD = re.compile(r"ecr-build-push\.sh|\becrbot\s+push\b")
# The standard GitHub Actions pair: amazon-ecr-login logs Docker in, build-push-action pushes.
ECR_LOGIN = "aws-actions/amazon-ecr-login"
BUILD_PUSH = "docker/build-push-action"
# A secret's value passed as a build arg (`${{ secrets.X }}`): it stays in the image's history.
_SECRET_EXPR = re.compile(r"\$\{\{\s*secrets\.", re.IGNORECASE)
_BUILD_ARG_FLAG = re.compile(r"--build-arg[\s=][^\n]*?\$\{\{\s*secrets\.", re.IGNORECASE)
_PUSHES = re.compile(r"docker\s+(?:image\s+)?push\b|--push\b|ecr-build-push\.sh|\becrbot\s+push\b")
_LATEST = re.compile(r":latest\b|value=latest\b|latest=true\b")
_SHA_ARG = re.compile(r"""--sha(?:=|\s+)("[^"]*"|'[^']*'|\$\{\{.*?\}\}|\S+)""")
_SHA_VALUE = re.compile(r"sha|rev-parse|^[0-9a-f]{7,40}$", re.IGNORECASE)
_DEPENDABOT = r"""['"]dependabot\[bot\]['"]"""
_FOR_DEPENDABOT = re.compile(rf"==\s*{_DEPENDABOT}|{_DEPENDABOT}\s*==")
_NOT_DEPENDABOT = re.compile(rf"!=\s*{_DEPENDABOT}|{_DEPENDABOT}\s*!=")


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


def permissions_fix(job: JobAnalysis) -> str:
    """The `permissions:` block(s) giving this job id-token: write, as YAML naming its job."""
    parts = []
    if job.caller is not None and job.caller.id_token == "none":  # noqa: S105 (a level)
        parts.append(permissions_fix(job.caller))
    own = job.declared
    if own is None and job.caller is None:
        why = (
            "add this block; naming scopes drops the repository default, so add what else it needs"
        )
        parts.append(_block(job, DEFAULT, why))
    elif own is not None and own.id_token == "none":  # noqa: S105 (a permission level)
        why = f"replace its block {own.describe()} with this one"
        if job.permissions_source == "workflow":
            why = f"add this block; it replaces the workflow-level {own.describe()} for this job"
        parts.append(_block(job, own, why))
    if not parts:
        return f"# {job.workflow}: job `{job.job_id}` already gets id-token: write\n"
    return "\n".join(parts)


def _block(job: JobAnalysis, grant: Grant, why: str) -> str:
    lines = [f"# {job.workflow}, job `{job.job_id}`: {why}"]
    if "workflow_call" in job.triggers and job.caller is None:
        lines.append("# the job calling this workflow must grant id-token: write as well")
    lines += ["jobs:", f"  {job.job_id}:", "    permissions:"]
    lines += [f"      {scope}: {level}" for scope, level in grant.with_id_token()]
    return "\n".join(lines) + "\n"


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
    never = caller.never_token if caller else _never_token(triggers, rules, str(job.get("if", "")))
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
    standard = _pushes_with_actions(steps) or any(
        _STANDARD.search(str(step.get("run", ""))) for step in steps
    )
    notes: list[str] = []
    if calls is not None and not calls.startswith("./"):
        notes.append(
            f"calls {plain(calls)} from another repository: its jobs get at most this job's "
            f"id-token: {verdict.id_token}"
        )
    if aws or calls is not None:
        notes += _trigger_notes(triggers, rules, str(job.get("if", "")))
    called_only = caller is None and triggers == ("workflow_call",)
    if called_only and verdict.id_token == "write":  # noqa: S105 (a permission level)
        notes.append("it only runs when called: the calling job must grant id-token: write too")
    if environment is not None and "${{" in environment:
        notes.append(
            f"environment {code(environment)} is an expression: the OIDC subject is "
            "repo:ORG/REPO:environment:<its value at run time>"
        )
    for step in aws:
        label = _label(step.step_index, steps[step.step_index])
        if step.uses_static_keys:
            notes.append(
                f"{label} passes aws-access-key-id/aws-secret-access-key: long-lived keys, "
                "which the runbook forbids; use role-to-assume (OIDC)"
            )
        elif step.role_to_assume is None:
            notes.append(f"{label} has no role-to-assume, so it cannot use OIDC")
    notes += _tag_notes(steps, standard)
    notes += _secret_build_arg_notes(steps)
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


_FORKS_ONLY = re.compile(
    r"github\.event\.pull_request\.head\.repo\.fork\s*(?:==\s*true\b|$|\)|&&)"
    r"|github\.event\.pull_request\.head\.repo\.full_name\s*!=\s*github\.repository\b"
)
_PR_EVENTS = frozenset({"pull_request"})


def _never_token(
    triggers: tuple[str, ...], rules: tuple[RefRule, ...], condition: str
) -> str | None:
    """Why no run of a job can get an OIDC token, or None when some can.

    GitHub gives runs triggered by Dependabot, and `pull_request` runs from forks, a read-only
    GITHUB_TOKEN without `id-token: write` whatever the workflow asks ("Automating Dependabot
    with GitHub Actions"; "Events that trigger workflows" > pull_request, "Workflows in forked
    repositories"). A job that runs only for them has no token to present.
    """
    # pull_request_target and workflow_run run in the base repository's context, token included.
    base_context = {"pull_request_target", "workflow_run"} & set(triggers)
    if _FOR_DEPENDABOT.search(condition) and not base_context:
        return "it only runs for Dependabot (`github.actor == 'dependabot[bot]'`)"
    if set(triggers) <= _PR_EVENTS and triggers and _FORKS_ONLY.search(condition.strip()):
        return "it only runs for pull requests from forks"
    pushes = [rule for rule in rules if rule.event == "push"]
    if (
        pushes
        and set(triggers) == {"push"}
        and all(rule.kind == "heads" for rule in pushes)
        and all(p.startswith("dependabot/") for rule in pushes for p in rule.include)
    ):
        return "it only runs on pushes to Dependabot's `dependabot/...` branches"
    return None


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


def _trigger_notes(
    triggers: tuple[str, ...], rules: tuple[RefRule, ...], condition: str
) -> list[str]:
    notes = []
    if "pull_request" in triggers:
        notes.append(
            "pull_request: runs for pull requests from forks get no id-token and no "
            "secrets, so OIDC fails there (branches of this repository do get it)"
        )
    if "pull_request_target" in triggers:
        notes.append(
            "pull_request_target: runs in the base repository's context, OIDC "
            "included, even for forks: never build the pull request's code here"
        )
    # Dependabot opens pull requests and pushes only to its own `dependabot/...` branches.
    reached = "pull_request" in triggers or any(
        rule.event == "push" and runs_on_branch(rule, "dependabot/pip/requests-2.32.0")
        for rule in rules
    )
    if _FOR_DEPENDABOT.search(condition):
        notes.append(
            "it runs only for Dependabot (`github.actor == 'dependabot[bot]'`): those runs "
            "get a read-only token and no id-token, so they cannot assume an AWS role"
        )
    elif reached and not _NOT_DEPENDABOT.search(condition):
        notes.append(
            "Dependabot: runs it triggers get a read-only token and no Actions secrets, "
            "like forks; skip them with `if: github.actor != 'dependabot[bot]'`"
        )
    return notes


def _tag_notes(steps: list[dict[str, object]], standard: bool) -> list[str]:
    """Cheap signs of tags other than the commit SHA ("SHAs over latest", the runbook says)."""
    notes = []
    pushes = standard or any(_PUSHES.search(str(s.get("run", ""))) for s in steps)
    for i, step in enumerate(steps):
        run = str(step.get("run", ""))
        given = mapping_of(step.get("with"))  # docker/metadata-action, docker/build-push-action
        tags = f"{given.get('tags', '')} {given.get('flavor', '')}"
        for tool in ("ecr-build-push.sh", "ecrbot push"):
            if tool not in run:
                continue
            sha = _SHA_ARG.search(run)
            if sha is None:
                notes.append(f"{_label(i, step)} runs {tool} without --sha: no commit SHA tag")
            elif not _SHA_VALUE.search(sha.group(1)):
                value = plain(sha.group(1))
                notes.append(f"{_label(i, step)} passes --sha {value}, not the commit SHA")
        if (pushes and _LATEST.search(run)) or _LATEST.search(tags):
            notes.append(f"{_label(i, step)} tags `latest`; the runbook says SHAs over latest")
    return notes


def _pushes_with_actions(steps: list[dict[str, object]]) -> bool:
    """amazon-ecr-login, then docker/build-push-action with `push` on (or an expression)."""
    uses = [str(step.get("uses", "")).lower() for step in steps]
    if not any(action.startswith(ECR_LOGIN) for action in uses):
        return False
    for action, step in zip(uses, steps, strict=True):
        push = mapping_of(step.get("with")).get("push")
        if action.startswith(BUILD_PUSH) and (
            push is True or "true" in str(push).lower() or "${{" in str(push)
        ):
            return True
    return False


def _secret_build_arg_notes(steps: list[dict[str, object]]) -> list[str]:
    """Secrets passed as build args end up in the image's history, for anyone who pulls it."""
    notes = []
    for i, step in enumerate(steps):
        build_args = str(mapping_of(step.get("with")).get("build-args", ""))
        action = str(step.get("uses", "")).lower().startswith(BUILD_PUSH)
        if (action and _SECRET_EXPR.search(build_args)) or _BUILD_ARG_FLAG.search(
            str(step.get("run", ""))
        ):
            notes.append(
                f"{_label(i, step)} passes a secret as a build arg, which stays in the image's "
                "history: pass it as a BuildKit secret (`secrets:` of build-push-action, or "
                "`--secret`) and read it with `RUN --mount=type=secret`"
            )
    return notes


def _label(index: int, step: dict[str, object]) -> str:
    name = step.get("name") or step.get("uses")
    # Counted from 1, as people do.
    return f"step {index + 1}" + (f" ({plain(name, 80)})" if name else "")


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
