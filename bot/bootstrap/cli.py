"""The terminal commands' composition root (`ecrbot push|diagnose|report|jobs|audit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.audit_store import SqlAuditLog
from bot.adapters.aws import EcrRegistry
from bot.adapters.engine import DockerEngine
from bot.adapters.source import DirectorySource, GitSource
from bot.adapters.store import SqlJobStore
from bot.bootstrap.parts import build_diagnoser, build_reports
from bot.config import Catalog, Settings
from bot.domain.models import RegistrySpec
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import (
    AuditLog,
    Engine,
    JobStore,
    Registry,
    Source,
)
from bot.runtime.executors import Concurrency, Executors
from bot.services.diagnose import Diagnoser
from bot.services.reports import ReportRunner


@dataclass(frozen=True)
class CliAdapters:
    """The adapters of the terminal commands (`ecrbot push|diagnose|report|jobs`), chosen here
    like the bot's. Each is built when a command asks for it: `push` needs no database, `jobs`
    no AWS. Tests subclass this to hand the commands fakes."""

    settings: Settings
    executors: Executors = field(default_factory=lambda: Executors(Concurrency()))

    def registry(self, spec: RegistrySpec) -> Registry:
        """ECR in the spec's account and region (no metrics: a command is not scraped)."""
        return EcrRegistry(
            spec,
            endpoint_url=self.settings.aws_endpoint_url,
            ca_bundle=self.settings.registry_ca_bundle,
        )

    def engine(self) -> Engine:
        return DockerEngine(self.settings.docker_host)

    def git(self) -> GitSource:
        """The catalog apps' git mirrors, under ECRBOT_WORK_DIR."""
        return GitSource(Path(self.settings.work_dir) / "sources")

    def directory(self, path: Path) -> Source:
        """A directory as it is, like ecr-build-push.sh builds the current one."""
        return DirectorySource(path)

    def store(self) -> JobStore:
        return SqlJobStore(self.settings.database_url)

    def audit(self) -> AuditLog:
        """The audit log, to read: on the job store's engine, as the bot's is."""
        return SqlAuditLog(SqlJobStore(self.settings.database_url).engine)

    def pipeline(self, spec: RegistrySpec, source: Source) -> PushPipeline:
        return PushPipeline(
            source, self.engine(), self.registry(spec), clock=lambda: datetime.now(UTC)
        )

    def diagnoser(self, catalog: Catalog) -> Diagnoser:
        registry = self.registry(catalog.registry_spec)
        return build_diagnoser(
            self.settings, catalog, self.engine(), registry, self.git(), self.executors
        )

    def reports(self, catalog: Catalog) -> ReportRunner:
        """The report without Slack: it is printed, never posted."""
        return build_reports(
            self.settings,
            catalog,
            self.registry(catalog.registry_spec),
            self.store(),
            self.executors,
        )


def build_cli_adapters(settings: Settings) -> CliAdapters:
    """The terminal commands' composition root (the bot's is `build_services`)."""
    return CliAdapters(settings)
