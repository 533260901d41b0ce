"""The terminal commands' composition root (`ecrbot push|diagnose|report|jobs|audit`).

Each adapter module is imported by the method that builds it: one command needs one or two of
them, and a CI job runs `ecrbot diagnose` on every pull request (docker, SQLAlchemy, Alembic
and matplotlib cost it about 0.5 s of imports it never uses).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.bootstrap import extras
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.models import ProgressEvent, RegistrySpec
from bot.domain.ports import AuditLog, Engine, JobStore, Registry, RepositoryInfo, Source
from bot.runtime.executors import Concurrency, Executors

if TYPE_CHECKING:
    from bot.adapters.source import GitSource
    from bot.adapters.sqlite_reads import SqliteReads
    from bot.bootstrap.promotions import PromotionIo
    from bot.domain.pipeline import PushPipeline
    from bot.services.diagnose import Diagnoser
    from bot.services.promotions import PromotionService
    from bot.services.reports import ReportRunner


class PushProgress(Protocol):
    """What `ecrbot push` shows of a pipeline's progress: each event, then a close."""

    def __call__(self, event: ProgressEvent) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CliAdapters:
    """The adapters of the terminal commands (`ecrbot push|diagnose|report|jobs`), chosen here
    like the bot's. Each is built when a command asks for it: `push` needs no database, `jobs`
    no AWS. Tests subclass this to hand the commands fakes."""

    settings: Settings
    executors: Executors = field(default_factory=lambda: Executors(Concurrency()))
    made: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def close(self) -> None:
        """The command is done: its pools' threads end (they are shut down, never leaked)."""
        self.executors.shutdown()

    def registry(self, spec: RegistrySpec) -> Registry:
        """ECR in the spec's account and region (no metrics: a command is not scraped)."""
        from bot.adapters.aws import EcrRegistry

        return EcrRegistry(
            spec,
            endpoint_url=self.settings.aws_endpoint_url,
            ca_bundle=self.settings.registry_ca_bundle,
        )

    def engine(self) -> Engine:
        from bot.adapters.engine import DockerEngine

        return DockerEngine(
            self.settings.docker_host,
            docker_cli=self.settings.docker_cli,
            secrets_dir=self.settings.build_secrets_dir,
        )

    def git(self) -> GitSource:
        """The catalog apps' git mirrors, under ECRBOT_WORK_DIR: a fetch the launcher started
        into one (bootstrap/early.py) is waited for before that mirror is used."""
        from bot.adapters.git_early import EARLY
        from bot.adapters.source import GitSource

        return GitSource(Path(self.settings.work_dir) / "sources", early=EARLY)

    def directory(self, path: Path) -> Source:
        """A directory as it is, like ecr-build-push.sh builds the current one."""
        from bot.adapters.source import DirectorySource

        return DirectorySource(path)

    def progress(self) -> PushProgress:
        """The terminal's lines (and a bar on a TTY) for `ecrbot push`; rich only then."""
        from bot.adapters.terminal_progress import TerminalProgress

        # The streams of now, not TerminalProgress's defaults: those are bound when its module
        # is first imported, and a test may have swapped sys.stdout since.
        return TerminalProgress(sys.stdout, sys.stderr)

    def store(self) -> JobStore:
        from bot.adapters.store import SqlJobStore

        extras.require_for_database(self.settings.database_url)
        return SqlJobStore(self.settings.database_url)

    def audit(self) -> AuditLog:
        """The audit log, to read: on the job store's engine, as the bot's is."""
        from bot.adapters.audit_store import SqlAuditLog
        from bot.adapters.store import SqlJobStore

        extras.require_for_database(self.settings.database_url)
        return SqlAuditLog(SqlJobStore(self.settings.database_url).engine)

    def pipeline(
        self,
        spec: RegistrySpec,
        source: Source,
        repository: str | None = None,
        tags: tuple[str, ...] = (),
    ) -> PushPipeline:
        """`ecrbot push`'s pipeline. The engine and the registry are built in the background
        (prefetch.py) while the checkout runs; with `repository`, the registry also describes
        it, logs in, looks up `tags` (when known before the checkout) and opens a connection
        to the registry's API there."""
        from bot.bootstrap.prefetch import BackgroundEngine, PrefetchedRegistry
        from bot.domain.pipeline import PushPipeline

        def ready_engine() -> Engine:
            from bot.adapters.engine import DockerEngine

            engine = self.engine()
            if isinstance(engine, DockerEngine):
                engine.warm()
            return engine

        def warm_registry(registry: Registry, info: RepositoryInfo) -> None:
            from bot.adapters.aws import EcrRegistry

            if isinstance(registry, EcrRegistry):
                registry.warm(info)

        registry: Registry = (
            PrefetchedRegistry(lambda: self.registry(spec), repository, tags, warm_registry)
            if repository is not None
            else self.registry(spec)
        )
        engine = BackgroundEngine(ready_engine)
        return PushPipeline(source, engine, registry, clock=lambda: datetime.now(UTC))

    def diagnoser(self, catalog: Catalog) -> Diagnoser:
        """The engine and the ECR registry adapter are built only if a check asks for them:
        an app's checklist needs neither unless it is given --sha."""
        from bot.bootstrap.parts import build_diagnoser

        return build_diagnoser(
            self.settings,
            catalog,
            cache(self.engine),
            cache(lambda: self.registry(catalog.registry_spec)),
            self.git(),
            self.executors,
        )

    def reports(self, catalog: Catalog) -> ReportRunner:
        """The report without Slack: it is printed, never posted."""
        from bot.bootstrap.parts import build_reports

        return build_reports(
            self.settings,
            catalog,
            self.registry(catalog.registry_spec),
            self.store(),
            self.executors,
        )

    def promotion_reads(self, catalog: Catalog, app: str, ref: str, environment: str) -> None:
        """`ecrbot promote` is about to ask for this promotion: its two digest reads (and the
        target's role session) start now, on threads, while the database is opened, and so do
        the two registry logins a copy would need; the service built next takes their answers."""
        made = self._promotion_io()
        _prefetch(made, catalog, app, ref, environment)

    def promotions(self, catalog: Catalog) -> PromotionService:
        """`ecrbot promote`: digests read from ECR's API, skopeo with ECR logins for a copy,
        refused by the locks in the bot's database (read on each promotion, so a lock taken in
        Slack a moment ago counts)."""
        from bot.adapters.static_directory import StaticDirectory
        from bot.bootstrap.promotions import build_promotions
        from bot.domain.access import Access
        from bot.services.locks import LockService

        reader, copier, _ = self._promotion_io()
        access = Access(catalog.slack.admins, StaticDirectory(), catalog.slack.access)
        light = _sqlite_reads(self.settings.database_url)
        if light is not None:  # a SQLite file at head: read without SQLAlchemy (~0.18 s CPU)
            locks = LockService(catalog.app, catalog.all_apps, access, light)
            return build_promotions(
                self.settings, catalog, access, locks.check, copier, None, reader, light.pushed
            )
        from bot.adapters.lock_store import SqlLockStore
        from bot.adapters.store import SqlJobStore

        extras.require_for_database(self.settings.database_url)
        jobs = SqlJobStore(self.settings.database_url)
        locks = LockService(catalog.app, catalog.all_apps, access, SqlLockStore(jobs.engine))
        return build_promotions(self.settings, catalog, access, locks.check, copier, jobs, reader)

    def _promotion_io(self) -> PromotionIo:
        """One reader and copier per command (the reads and logins `promotion_reads` started
        are theirs to hand over)."""
        if "promotion_io" not in self.made:
            from bot.bootstrap.promotions import promotion_io

            self.made["promotion_io"] = promotion_io(self.settings)
        made: PromotionIo = self.made["promotion_io"]
        return made


def _prefetch(made: PromotionIo, catalog: Catalog, name: str, ref: str, environment: str) -> None:
    """Start reading what `ref` names at the source and at the target, and the two registries'
    logins: when the target lacks the digest (a copy), skopeo starts with them in hand; when it
    holds it ("already there"), two calls on threads were made for nothing. A request the
    service will refuse (no such app, environment or tag) starts nothing: the service says
    why."""
    from bot.domain.environments import HOME
    from bot.domain.errors import UserError
    from bot.domain.promotion import TAG, ImageRef, source_of

    app = catalog.app(name)
    if app is None or not TAG.fullmatch(ref):
        return
    try:
        target, source = source_of(app, environment, catalog.named_registries()[HOME])
    except UserError:
        return
    made.reader.prefetch(
        ImageRef(source.registry, source.repository, ref),
        ImageRef(target.registry, target.repository, ref),
    )
    made.logins.prefetch(source.registry, target.registry)


def _sqlite_reads(url: str) -> SqliteReads | None:
    """The read-only sqlite3 reader when the URL is a plain SQLite file at the schema's head;
    None otherwise (PostgreSQL, options in the URL, an old or newer schema): SQLAlchemy's."""
    from bot.adapters.sqlite_reads import SqliteReads, sqlite_path

    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    reads = SqliteReads(path)
    return reads if reads.current() else None


def build_cli_adapters(settings: Settings) -> CliAdapters:
    """The terminal commands' composition root (the bot's is `build_services`)."""
    return CliAdapters(settings)
