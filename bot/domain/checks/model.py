"""What diagnose works on and produces: a snapshot of facts in, check results out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.domain.iam.policy import Policy, Unreadable
from bot.domain.tag_mutability import TagMutability
from bot.domain.workflow.subjects import SubjectTemplate

if TYPE_CHECKING:  # annotations only: a diagnose loads them beside its reads (services)
    from bot.domain.ecr_features import CreationTemplate, SigningRule
    from bot.domain.iam.evaluation import OrgLevel
    from bot.domain.workflow.analysis import WorkflowReport

T = TypeVar("T")


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a check status, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: a stable id, a status, one sentence, and a fix to paste."""

    id: str
    status: Status
    summary: str
    remediation: str = ""
    resource: str = ""
    job: str | None = None


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A fetched value, or why it could not be fetched (access denied, timeout...)."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Repository:
    name: str
    uri: str
    arn: str
    immutable: bool  # the setting's base; `exclusions` invert it for the tags they match
    exclusions: tuple[str, ...] = ()

    @property
    def mutability(self) -> TagMutability:
        return TagMutability.of(self.immutable, self.exclusions)


@dataclass(frozen=True)
class OidcProvider:
    arn: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class Boundary:
    """A permissions boundary: the managed policy capping a role's or user's permissions."""

    arn: str
    policy: Policy | None  # None: it could not be read (the principal's `skipped` says why)


@dataclass(frozen=True)
class Role:
    """A role, each of its documents read on its own: one that can't be read is named in
    `skipped` (or is the `trust` itself) and never hides the others."""

    arn: str
    trust: Policy | Unreadable
    policies: dict[str, Policy]
    boundary: Boundary | None = None
    skipped: tuple[Unreadable, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AssumedRole:
    """A role the bot assumes for a person (a registry's `role:`), read from IAM."""

    arn: str
    registries: tuple[str, ...]  # the catalog's names of the registries it reaches
    role: Fact[Role | None]
    # Where the role can't be read (another account): STS's own answer to an AssumeRole for
    # the person who asked diagnose (the session's ARN), or None when nobody asked.
    probe: Fact[str] | None = None


@dataclass(frozen=True)
class TargetRepository:
    """An environment's repository, read in its own registry (through that registry's role)."""

    environment: str
    registry: str  # the catalog's name of the registry
    account_id: str
    region: str
    repository: str
    pusher: str | None  # the registry's role: who pushes the copy (None: the bot's own)
    found: Fact[Repository | None]
    policy: Fact[Policy | Unreadable | None]


@dataclass(frozen=True)
class KeyUser:
    """An IAM user with active access keys, and every identity policy that applies to it."""

    name: str
    active_keys: tuple[str, ...]
    policies: dict[str, Policy]
    boundary: Boundary | None = None
    skipped: tuple[Unreadable, ...] = ()
    arn: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Organization:
    """The AWS Organization the account is in (DescribeOrganization, readable by members)."""

    id: str
    management_account: str


# What AWS's policy simulator answered per action: "allowed", "explicitDeny", "implicitDeny".
Simulation = dict[str, str]


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    revision: str | None
    status: str = "ACTIVE"  # ARCHIVED: described by ECR, but it can't be pulled


@dataclass(frozen=True)
class AppFacts:
    """Everything one app's checklist needs, fetched once."""

    app: str
    github: str | None
    branch: str
    environment: str | None
    region: str
    account_id: str
    role_arn: str | None
    repository_name: str
    caller: Fact[str]
    repository: Fact[Repository | None]
    elsewhere: Fact[tuple[str, ...]]
    workflows: Fact[tuple[WorkflowReport, ...]]
    provider: Fact[OidcProvider | None]
    role: Fact[Role | None]
    key_users: Fact[tuple[KeyUser, ...]]
    sha: str | None = None
    image: Fact[Image | None] = field(default_factory=Fact)
    # The repository policy (None: it has none), read with get_repository_policy.
    repository_policy: Fact[Policy | Unreadable | None] = field(default_factory=Fact)
    # None: the account is in no organization.
    organization: Fact[Organization | None] = field(default_factory=Fact)
    # The SCPs above the role's account, root first; None when none apply (no organization,
    # or the management account, which SCPs never restrict).
    scps: Fact[tuple[OrgLevel, ...] | None] = field(default_factory=Fact)
    # AWS's policy simulator on the push actions; an error says why it is unavailable.
    simulation: Fact[Simulation | None] = field(default_factory=Fact)
    # The `sub` template GitHub applies to the app's repository, and where it was learnt.
    subject_template: SubjectTemplate = field(default_factory=SubjectTemplate)
    # Repository creation templates (asked only when the repository is missing; None: the
    # endpoint serves none) and managed signing rules (None: the endpoint serves no signing).
    creation_templates: Fact[tuple[CreationTemplate, ...] | None] = field(default_factory=Fact)
    signing_rules: Fact[tuple[SigningRule, ...] | None] = field(default_factory=lambda: Fact(()))
    # The roles the bot assumes for a person at the app's registries, and the bot's own
    # principal (its base credentials, never a role it assumed) that their trust must name.
    assumed_roles: tuple[AssumedRole, ...] = ()
    bot_principal: Fact[str] = field(default_factory=Fact)
    # Each environment's repository, where a promotion copies the image.
    targets: tuple[TargetRepository, ...] = ()


@dataclass(frozen=True)
class PlatformFacts:
    """The bot's own footing: identity, region, Docker engine, ECR token, registry login."""

    region: str
    account_id: str
    caller: Fact[str]
    docker: Fact[str]
    token: Fact[str]
    login: Fact[str]


@dataclass(frozen=True)
class Report:
    """A checklist with its one-line verdict."""

    subject: str
    verdict: str
    results: tuple[CheckResult, ...]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)


# AWS access-key ids: a 4-letter type prefix (AKIA long-lived, ASIA temporary...) then 16
# upper-case letters and digits (https://docs.aws.amazon.com/IAM/latest/UserGuide/
# reference_identifiers.html#identifiers-unique-ids, read 2026-05).
ACCESS_KEY_ID = re.compile(
    r"\b(A(?:KIA|SIA|BIA|CCA|IDA|ROA|NPA|NVA|3T[A-Z0-9]))([A-Z0-9]{12,124})\b"
)


def mask_key_id(text: str) -> str:
    """`AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`: enough to tell keys apart, not to look one up."""
    return ACCESS_KEY_ID.sub(lambda m: f"{m.group(1)}…{m.group(2)[-4:]}", text)


def masked(report: Report) -> Report:
    """The report as it may be shown outside the asker's DM: access-key ids masked."""
    return Report(
        mask_key_id(report.subject),
        mask_key_id(report.verdict),
        tuple(
            replace(
                result,
                summary=mask_key_id(result.summary),
                remediation=mask_key_id(result.remediation),
                resource=mask_key_id(result.resource),
            )
            for result in report.results
        ),
    )
