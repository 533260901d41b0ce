"""A job's notes (triggers, tags, secrets in build args) and the `permissions:` fix it needs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.domain.text import plain
from bot.domain.workflow.permissions import DEFAULT, Grant, RefRule, mapping_of, runs_on_branch

if TYPE_CHECKING:  # annotations only: analysis.py imports this module
    from bot.domain.workflow.analysis import JobAnalysis

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


_FORKS_ONLY = re.compile(
    r"github\.event\.pull_request\.head\.repo\.fork\s*(?:==\s*true\b|$|\)|&&)"
    r"|github\.event\.pull_request\.head\.repo\.full_name\s*!=\s*github\.repository\b"
)
_PR_EVENTS = frozenset({"pull_request"})


def never_token(
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


def trigger_notes(
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


def tag_notes(steps: list[dict[str, object]], standard: bool) -> list[str]:
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
                notes.append(f"{step_label(i, step)} runs {tool} without --sha: no commit SHA tag")
            elif not _SHA_VALUE.search(sha.group(1)):
                value = plain(sha.group(1))
                notes.append(f"{step_label(i, step)} passes --sha {value}, not the commit SHA")
        if (pushes and _LATEST.search(run)) or _LATEST.search(tags):
            notes.append(f"{step_label(i, step)} tags `latest`; the runbook says SHAs over latest")
    return notes


def pushes_with_actions(steps: list[dict[str, object]]) -> bool:
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


def secret_build_arg_notes(steps: list[dict[str, object]]) -> list[str]:
    """Secrets passed as build args end up in the image's history, for anyone who pulls it."""
    notes = []
    for i, step in enumerate(steps):
        build_args = str(mapping_of(step.get("with")).get("build-args", ""))
        action = str(step.get("uses", "")).lower().startswith(BUILD_PUSH)
        if (action and _SECRET_EXPR.search(build_args)) or _BUILD_ARG_FLAG.search(
            str(step.get("run", ""))
        ):
            notes.append(
                f"{step_label(i, step)} passes a secret as a build arg, which stays in the image's "
                "history: pass it as a BuildKit secret (`secrets:` of build-push-action, or "
                "`--secret`) and read it with `RUN --mount=type=secret`"
            )
    return notes


def step_label(index: int, step: dict[str, object]) -> str:
    name = step.get("name") or step.get("uses")
    # Counted from 1, as people do.
    return f"step {index + 1}" + (f" ({plain(name, 80)})" if name else "")


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
