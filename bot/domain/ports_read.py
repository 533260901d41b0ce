"""The domain's ports for reading the world: diagnose's AWS facts, GitHub's subject templates,
the report's registry scan and its history (split from `ports.py`, which re-exports them)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: `ecrbot push` never loads diagnose's checks (about
    # 0.15 s of imports: IAM evaluation, workflow analysis), nor `ecrbot diagnose` the report
    from bot.domain.checks.model import (
        Boundary,
        Fact,
        Image,
        KeyUser,
        OidcProvider,
        Organization,
        Repository,
        Role,
        Simulation,
    )
    from bot.domain.ecr_features import CreationTemplate, SigningRule
    from bot.domain.iam.evaluation import OrgLevel
    from bot.domain.iam.policy import Policy, Unreadable
    from bot.domain.report import AccessFinding, ReportFigures
    from bot.domain.report import RepositoryInfo as ScannedRepository
    from bot.domain.workflow.subjects import SubjectTemplate


class SubjectTemplates(Protocol):
    """Where GitHub says which claims make up a repository's OIDC `sub` (for diagnose)."""

    def subject_template(self, repo: str) -> SubjectTemplate:
        """The template for "owner/repo" and the `repo:` prefix its tokens carry; raises
        TemplateUnavailable saying why not."""
        ...

    def repository_record(self, repo: str) -> Mapping[str, str]:
        """The repository's ids and visibility as claims (`repository_id`...); raises
        TemplateUnavailable saying why not."""
        ...


class AccountFacts(Protocol):
    """Diagnose's view of one AWS account: each fact fetched once, concurrently."""

    calls: dict[str, int]

    def caller(self) -> Future[Fact[str]]: ...

    def repository(self, name: str) -> Future[Fact[Repository | None]]: ...

    def elsewhere(self, name: str, regions: list[str]) -> Future[Fact[tuple[str, ...]]]: ...

    def provider(self) -> Future[Fact[OidcProvider | None]]: ...

    def role(self, arn: str) -> Future[Fact[Role | None]]: ...

    def key_users(self) -> Future[Fact[tuple[KeyUser, ...]]]: ...

    def user_boundary(self, name: str) -> Future[Fact[Boundary | None]]: ...

    def repository_policy(self, name: str) -> Future[Fact[Policy | Unreadable | None]]: ...

    def organization(self) -> Future[Fact[Organization | None]]: ...

    def scps(self, account: str) -> Future[Fact[tuple[OrgLevel, ...] | None]]: ...

    def simulate(
        self, role_arn: str, actions: tuple[str, ...], resource: str
    ) -> Future[Fact[Simulation | None]]: ...

    def image(self, repository: str, tag: str) -> Future[Fact[Image | None]]: ...

    def token(self) -> Future[Fact[str]]: ...

    def login(self) -> Future[Fact[str]]: ...

    def creation_templates(self) -> Future[Fact[tuple[CreationTemplate, ...] | None]]:
        """The registry's repository creation templates (None: the endpoint serves none)."""
        ...

    def signing_rules(self) -> Future[Fact[tuple[SigningRule, ...] | None]]:
        """The registry's managed signing rules (None: the endpoint serves no signing)."""
        ...


class RegistryScan(Protocol):
    """The health report's read of every repository; `gaps` collects what could not be read."""

    calls: int

    def repositories(self, gaps: list[str]) -> tuple[tuple[ScannedRepository, ...], bool]: ...

    def access(self, gaps: list[str]) -> tuple[AccessFinding, ...]: ...


class ReportHistory(Protocol):
    """The figures of past scheduled reports, for "since last time"."""

    def save(self, figures: ReportFigures) -> None: ...

    def history(self, limit: int = 12) -> list[ReportFigures]: ...
