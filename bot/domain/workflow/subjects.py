"""The OIDC `sub` claim a job presents under its repository's subject template.

GitHub lets an organization or a repository change which claims make up `sub` (docs.github.com,
"OpenID Connect" > "Customizing the subject claims for an organization or repository", and
"REST API endpoints for GitHub Actions OIDC"): the template is a list of claim keys
(`include_claim_keys`), and the subject is each key followed by its value, joined by `:`.
`context` stands for the default subject's part after the repository (`ref:refs/heads/main`,
`environment:prod`, `pull_request`), and `repo` gives `repo:ORG/REPO`. For example,
["repo", "context", "job_workflow_ref"] gives
`repo:octo-org/octo-repo:environment:prod:job_workflow_ref:octo-org/octo-automation/.github/
workflows/oidc.yml@refs/heads/main`. GitHub's default is ["repo", "context"].

A repository's template is read from `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`:
`use_default: true` is GitHub's default; `use_default: false` with `include_claim_keys` is its
own; `use_default: false` without keys is its organization's template
(`GET /orgs/{org}/actions/oidc/customization/sub`), or the default when the organization has
none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.domain.iam.github_claims import RUN_TIME_CLAIMS, STS_GITHUB_CLAIMS
from bot.domain.workflow.permissions import escape_claim, rule_subjects
from bot.domain.workflow.subject_forms import form_of, name_only, prefix_ids

if TYPE_CHECKING:
    from bot.domain.workflow.analysis import JobAnalysis

DEFAULT_KEYS: tuple[str, ...] = ("repo", "context")
CLAIM_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # GitHub: "alphanumeric characters and underscores"
MAX_KEYS = 20
# Claims only a run knows: ecrbot shows them as `*` and says the subject could not be checked
# exactly.
RUN_TIME = frozenset(
    {
        "actor", "actor_id", "run_id", "run_number", "run_attempt", "sha", "head_ref",
        "base_ref", "job_workflow_sha", "workflow_sha", "runner_environment", "enterprise",
        "enterprise_id",
    }
)  # fmt: skip


class TemplateUnavailable(Exception):
    """The template could not be read (the API refused or failed); the message says how."""


@dataclass(frozen=True)
class SubjectTemplate:
    """The claim keys of a repository's `sub`, where they were learnt, and values known."""

    keys: tuple[str, ...] = DEFAULT_KEYS
    source: str = "GitHub's default (assumed)"
    assumed: bool = True  # nobody said: the default is a guess
    # Claim values GitHub's API told (repository_id, repository_owner_id, repository_visibility).
    claims: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None  # why the template could not be read (then it is assumed)
    # GitHub's `sub_claim_prefix` (repo:OWNER[@ID]/REPO[@ID]): the form the jobs present. None:
    # no token, so both forms are possible (subject_forms.candidate_prefixes).
    prefix: str | None = None
    use_immutable_subject: bool | None = None  # as GitHub answered; the prefix decides
    record_problem: str | None = None  # why the repository's record (its ids) was not read

    @property
    def is_default(self) -> bool:
        return self.keys == DEFAULT_KEYS


CATALOG = "the catalog's `oidc_subject_keys`"


def resolve_template(
    catalog_keys: tuple[str, ...] | None, read: Callable[[], SubjectTemplate] | None
) -> SubjectTemplate:
    """GitHub's answer when ecrbot may ask (`read`), else the catalog's keys, else the default
    (assumed). When GitHub can't be read, the fallback carries why (`problem`)."""
    fallback = SubjectTemplate(catalog_keys, CATALOG, False) if catalog_keys else SubjectTemplate()
    if read is None:
        return fallback
    try:
        return read()
    except TemplateUnavailable as error:
        return replace(fallback, problem=str(error)[:300])


def checked_keys(keys: object) -> tuple[str, ...]:
    """A template's keys from outside (GitHub's API, the catalog), bounded and validated."""
    if not isinstance(keys, list | tuple) or not 1 <= len(keys) <= MAX_KEYS:
        raise ValueError(f"a subject template is a list of 1 to {MAX_KEYS} claim keys")
    for key in keys:
        if not isinstance(key, str) or not CLAIM_KEY.fullmatch(key):
            raise ValueError(
                f"each claim key holds only letters, digits and underscores (got {str(key)[:40]!r})"
            )
    return tuple(dict.fromkeys(keys))


def with_record(
    template: SubjectTemplate, record: Mapping[str, str] | None, problem: str | None = None
) -> SubjectTemplate:
    """The template with the repository's ids and visibility from its record; an immutable
    prefix carries both ids, so they stay known when the record can't be read."""
    claims = dict(template.claims)
    ids = prefix_ids(template.prefix) if template.prefix else None
    if ids:
        claims.setdefault("repository_owner_id", ids[0])
        claims.setdefault("repository_id", ids[1])
    claims.update(record or {})
    return replace(template, claims=claims, record_problem=problem)


@dataclass(frozen=True)
class Subject:
    """One `sub` a job can present, the claims in it only known at run time, and the claims
    STS passes besides (`claims`, with the ones ecrbot can't know in `unknown`, key -> why)."""

    value: str
    run_time: tuple[str, ...] = ()
    form: str | None = None  # "name-only" or "immutable" when ecrbot chose it, else GitHub did
    claims: Mapping[str, str] = field(default_factory=dict)
    unknown: Mapping[str, str] = field(default_factory=dict)


def job_subjects(
    job: JobAnalysis,
    repo: str,
    branch: str,
    template: SubjectTemplate,
    prefix: str | None = None,
) -> tuple[Subject, ...]:
    """The subjects this job can present under `template` (`repo` is "org/repo"), its `repo:`
    part being `prefix` (GitHub's `sub_claim_prefix`, or a form ecrbot tries)."""
    chosen = prefix or template.prefix or name_only(repo)
    form = form_of(chosen) if prefix else None
    found: dict[str, Subject] = {}
    runs = _runs(job, branch)
    if template.is_default and not job.ref_rules:
        # No trigger ecrbot could read: only an environment says what the job presents.
        runs = runs[:1] if job.environment is not None else []
    for ref, ref_type, event, context in runs:
        claims = _claims(job, repo, ref, ref_type, event, template.claims)
        claims["repo"] = chosen.removeprefix("repo:")
        sts, unknown = _sts_claims(job, claims, template)
        if template.is_default:
            subject = f"{chosen}:{context}"
            found.setdefault(subject, Subject(subject, (), form, sts, unknown))
            continue
        parts, missing = [], []
        for key in template.keys:
            if key == "context":
                parts.append(context)
                continue
            value = claims.get(key)
            if value is None:
                missing.append(key)
            parts.append(f"{key}:{escape_claim(value) if value is not None else '*'}")
        subject = ":".join(parts)
        found.setdefault(subject, Subject(subject, tuple(missing), form, sts, unknown))
    return tuple(found.values())


def _sts_claims(
    job: JobAnalysis, claims: Mapping[str, str], template: SubjectTemplate
) -> tuple[dict[str, str], dict[str, str]]:
    """The claims AWS STS passes (github_claims), split into known values and the unknown."""
    known = {k: v for k, v in claims.items() if k in STS_GITHUB_CLAIMS and "*" not in v}
    unknown = dict(RUN_TIME_CLAIMS)
    if "*" in claims.get("ref", ""):
        unknown["ref"] = "the branch or tag the run is for"
        known.pop("job_workflow_ref", None)
        unknown["job_workflow_ref"] = "the branch or tag the run is for"
    if job.environment is not None and "environment" not in known:
        unknown["environment"] = "the environment its expression picks when the job runs"
    if "repository_id" not in known:
        unknown["repository_id"] = (
            f"the repository's id, which GitHub's API did not give ({template.record_problem})"
            if template.record_problem
            else "the repository's id: give ecrbot a GITHUB_TOKEN to read it"
        )
    return known, unknown


def _runs(job: JobAnalysis, branch: str) -> list[tuple[str, str, str, str]]:
    """(ref, ref_type, event, default context) for each way the job runs."""
    runs = []
    for rule in job.ref_rules:
        for ending in rule_subjects(rule, branch):
            if ending == "pull_request":
                ref, ref_type = "refs/pull/*/merge", "branch"
            else:
                ref = ending.removeprefix("ref:").replace("%3A", ":")
                ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
            context = ending
            if job.environment is not None:
                context = f"environment:{escape_claim(job.environment)}"
            runs.append((ref, ref_type, rule.event, context))
    return runs or [(f"refs/heads/{branch}", "branch", "push", f"ref:refs/heads/{branch}")]


def _claims(
    job: JobAnalysis,
    repo: str,
    ref: str,
    ref_type: str,
    event: str,
    known: Mapping[str, str],
) -> dict[str, str]:
    owner = repo.split("/", 1)[0]
    top = job
    while top.caller is not None:
        top = top.caller
    claims = {
        "repo": repo,  # job_subjects puts the prefix GitHub presents in its place
        "repository": repo,
        "repository_owner": owner,
        "ref": ref,
        "ref_type": ref_type,
        "event_name": event,
        # The job's own workflow file (a called workflow's, for a reusable one) and the one run.
        "job_workflow_ref": f"{repo}/{job.workflow}@{ref}",
        "workflow_ref": f"{repo}/{top.workflow}@{ref}",
        "workflow": top.workflow_name or top.workflow,
        **dict(known),
    }
    if job.environment is not None and "${{" not in job.environment:
        claims["environment"] = job.environment
    return {k: v for k, v in claims.items() if k not in RUN_TIME}
