"""What the bot and the terminal commands build the same way: diagnose, reports, AWS facts.

The report's modules (matplotlib, Slack, SQLAlchemy, and the report's own domain: 0.05 s) are
imported by the report's functions only: `ecrbot diagnose` builds a Diagnoser and nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.adapters.aws_hooks import OnAwsError
from bot.bootstrap.sessions import role_sessions
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.access import Access, RateLimiter
from bot.domain.checks.model import Fact
from bot.domain.environments import Environment, NamedRegistry
from bot.domain.on_behalf import current_on_behalf
from bot.domain.ports import (
    Engine,
    JobStore,
    Published,
    Registry,
    SubjectTemplates,
    WorkflowSource,
)
from bot.runtime.executors import Executors
from bot.services.diagnose import Diagnoser

if TYPE_CHECKING:
    import boto3
    from slack_sdk import WebClient

    from bot.adapters.aws_facts import AwsFacts
    from bot.adapters.slack_outbox import SlackOutbox
    from bot.domain.report import (
        EnvironmentImages,
        HealthReport,
        ImageInfo,
        RegistryRead,
        ReportFigures,
    )
    from bot.services.reports import ReportRunner

log = logging.getLogger(__name__)
NOT_FOUND = "RepositoryNotFoundException"


def build_reports(
    settings: Settings,
    catalog: Catalog,
    registry: Registry,
    store: JobStore,
    executors: Executors,
    slack: WebClient | None = None,
    outbox: SlackOutbox | None = None,
    on_error: OnAwsError | None = None,
    access: Access | None = None,
    limiter: RateLimiter | None = None,
    on_done: Callable[[bool, bool], None] | None = None,
) -> ReportRunner:
    """The health report: an ECR/IAM reader, the job store, figures history, and a publisher."""
    from bot.adapters.registry_snapshot import RegistryReader
    from bot.adapters.report_store import SqlReportHistory
    from bot.adapters.slack_report import SlackReportPoster
    from bot.bootstrap.report_registries import catalog_entries, registry_reads
    from bot.domain.ports import Publish
    from bot.services.reports import ReportRunner, ReportService

    spec = catalog.registry_spec
    reads = executors.pool("registry_reads")
    role = catalog.registry.role
    sessions = role_sessions(settings) if role else None

    def reader() -> RegistryReader:
        # On the report's thread: a report on demand reads as the person who asked.
        who = current_on_behalf.get()
        return RegistryReader(
            spec.region,
            spec.account_id,
            pool=reads,
            endpoint_url=settings.aws_endpoint_url,
            session=sessions.session(role, who, spec.region) if sessions else None,
            on_error=on_error,
        )

    service = ReportService(
        spec,
        catalog_entries(catalog),
        reader,
        aws_facts(settings, catalog, lambda: registry, executors, on_error),
        store,
        SqlReportHistory(settings.database_url),
        package_report,
        environments=environment_images(settings, catalog, executors, on_error),
        registries=registry_reads(settings, catalog, executors, on_error),
    )
    publish: Publish = (
        SlackReportPoster(slack, outbox, catalog.slack.channel)
        if slack is not None and outbox is not None
        else _log_published
    )
    return ReportRunner(
        service, publish, access, limiter, pool=executors.pool("reports"), on_done=on_done
    )


def environment_images(
    settings: Settings, catalog: Catalog, executors: Executors, on_error: OnAwsError | None
) -> Callable[[list[str], tuple[RegistryRead, ...]], tuple[EnvironmentImages, ...]]:
    """Each app's environments read in their own registries, through each registry's role
    (for the person who asked, or as ecrbot on the schedule); what can't be read is a gap.
    A repository of a registry `known` has read already is taken from there, not read again."""
    from bot.adapters.registry_snapshot import RegistryReader
    from bot.domain.report import EnvironmentImages

    paths = [(app.name, env) for app in catalog.all_apps() for env in app.environments]
    pool = executors.pool("registry_reads")

    def read(
        gaps: list[str], known: tuple[RegistryRead, ...] = ()
    ) -> tuple[EnvironmentImages, ...]:
        who = current_on_behalf.get()
        read_already = {r.name: {repo.name: repo.images for repo in r.repositories}
                        for r in known if r.error is None}  # fmt: skip
        # One reader per registry, not per environment: a boto3 client costs some 30 ms of CPU
        # to make (300 environments took 13 s of a 3-registry report's 45, bench_report_registries).
        made: dict[str, RegistryReader | str] = {}
        guard = threading.Lock()

        def reader(registry: NamedRegistry) -> RegistryReader | str:
            with guard:
                if registry.name not in made:
                    try:
                        made[registry.name] = RegistryReader(
                            registry.region,
                            registry.account_id,
                            endpoint_url=settings.aws_endpoint_url,
                            pool=pool,
                            session=role_sessions(settings).session(
                                registry.role, who, registry.region
                            ),
                            on_error=on_error,
                        )
                    except Exception as error:  # the role refused: its environments are gaps
                        made[registry.name] = f"role: {type(error).__name__}: {error}"[:300]
                return made[registry.name]

        def one(app: str, env: Environment) -> tuple[EnvironmentImages, list[str]]:
            found: list[str] = []
            images: tuple[ImageInfo, ...] = ()
            listed = read_already.get(env.registry.name)
            there = reader(env.registry) if listed is None else ""
            try:
                if listed is not None:  # ECR's words for a repository that isn't there
                    images = listed.get(env.repository, ())
                    found = [] if env.repository in listed else [f"images: {NOT_FOUND}"]
                elif isinstance(there, str):
                    found = [there]
                else:
                    images = there.images(env.repository, found)
            except Exception as error:  # refused on a refresh: this environment is a gap
                found = [f"role: {type(error).__name__}: {error}"[:300]]
            where = f"environment {env.name} of {app}"
            said = [f"{where}: {gap.partition(':')[2].strip() or gap}" for gap in found]
            return EnvironmentImages(app, env.name, env.registry.name, env.repository, images), said

        done = list(pool.map(lambda path: one(*path), paths))
        gaps.extend(gap for _, said in done for gap in said)
        return tuple(images for images, _ in done)

    return read


def package_report(report: HealthReport, history: list[ReportFigures]) -> Published:
    """The report with its chart (matplotlib) and detail files, for Slack or a terminal."""
    from bot.render import chart
    from bot.render import report as render

    return Published(
        report,
        chart.render_png(report.figures, history),
        render.detail_markdown(report),
        render.detail_csv(report),
        tuple(history),
    )


def build_diagnoser(
    settings: Settings,
    catalog: Catalog,
    engine: Callable[[], Engine],
    registry: Callable[[], Registry],
    workflows: WorkflowSource,
    executors: Executors,
    on_error: OnAwsError | None = None,
) -> Diagnoser:
    """Diagnose's snapshot comes from AWS (boto3), the apps' git sources and, with a token,
    GitHub's API. The engine and the registry adapter are factories: built on first use."""
    facts = aws_facts(settings, catalog, registry, executors, on_error)
    role = catalog.registry.role
    return Diagnoser(
        catalog.registry_spec,
        catalog.app,
        workflows,
        engine,
        facts,
        executors.pool("checks"),
        subject_templates(settings),
        home_role=role,
        # Diagnose reads through `role` then: the bot's own principal is asked apart.
        bot_principal=base_principal(settings, catalog.registry_spec.region) if role else None,
        probe_role=role_probe(settings, catalog.registry_spec.region),
        target_facts=registry_facts(settings, executors, on_error),
    )


def registry_facts(
    settings: Settings, executors: Executors, on_error: OnAwsError | None = None
) -> Callable[[NamedRegistry], AwsFacts]:
    """AWS reads in another registry of the catalog, through its role for the person diagnose
    runs for (on the caller's thread: the person is a context variable)."""
    pool, fanout = executors.pool("aws_calls"), executors.pool("aws_fanout")
    leaves = executors.pool("aws_leaves")

    def facts(registry: NamedRegistry) -> AwsFacts:
        from bot.adapters.aws_facts import AwsFacts

        who, sessions = current_on_behalf.get(), role_sessions(settings)
        return AwsFacts(
            registry.region,
            registry.account_id,
            endpoint_url=settings.aws_endpoint_url,
            ca_bundle=settings.registry_ca_bundle,
            session=sessions.session(registry.role, who, registry.region),
            pool=pool,
            fanout=fanout,
            leaves=leaves,
            on_error=on_error,
        )

    return facts


def role_probe(settings: Settings, region: str) -> Callable[[str], Fact[str] | None]:
    """Assume a registry role for the person diagnose runs for (None: nobody asked)."""

    def probe(arn: str) -> Fact[str] | None:
        from bot.adapters.aws_sessions import RoleAssumeFailed, SessionValueRefused

        who = current_on_behalf.get()
        if who is None:
            return None
        try:
            return Fact(role_sessions(settings).probe(arn, who, region))
        except (RoleAssumeFailed, SessionValueRefused) as error:
            return Fact(error=str(error))

    return probe


def base_principal(settings: Settings, region: str) -> Callable[[], Fact[str]]:
    """The bot's own principal (its base credentials), as a diagnose fact."""

    def principal() -> Fact[str]:
        from bot.adapters.aws_sessions import RoleAssumeFailed

        try:
            return Fact(role_sessions(settings).base_principal(region))
        except RoleAssumeFailed as error:
            return Fact(error=str(error))

    return principal


def subject_templates(settings: Settings) -> SubjectTemplates | None:
    """GitHub's API when a token is set (GITHUB_TOKEN; GITHUB_API_URL for GHES)."""
    if settings.github_token is None:
        return None
    from bot.adapters.github_api import GitHubApi

    return GitHubApi(settings.github_api_url, settings.github_token.get_secret_value())


def aws_facts(
    settings: Settings,
    catalog: Catalog,
    registry: Callable[[], Registry],
    executors: Executors,
    on_error: OnAwsError | None = None,
) -> Callable[[], AwsFacts]:
    """A factory of per-run AWS lookups sharing one thread pool. botocore is imported by the
    first run (0.07 s of CPU), which starts its git and GitHub reads first."""
    spec = catalog.registry_spec
    pool, fanout = executors.pool("aws_calls"), executors.pool("aws_fanout")
    leaves = executors.pool("aws_leaves")
    role = catalog.registry.role
    sessions = role_sessions(settings) if role else None

    def facts() -> AwsFacts:
        from bot.adapters.aws_facts import AwsFacts

        # Built on the thread of the run, so a diagnose's reads are made for its asker.
        session = sessions.session(role, current_on_behalf.get(), spec.region) if sessions else None
        return AwsFacts(
            spec.region,
            spec.account_id,
            endpoint_url=settings.aws_endpoint_url,
            ca_bundle=settings.registry_ca_bundle,
            session=session,
            pool=pool,
            fanout=fanout,
            leaves=leaves,
            registry=registry,
            on_error=on_error,
        )

    return facts


def _log_published(built: Published, channel: str | None, reply_url: str | None) -> None:
    log.info("registry report (no Slack): %s", built.report.figures.to_json())


def home_registry(
    settings: Settings, catalog: Catalog, on_error: OnAwsError | None = None
) -> Registry:
    """ECR at `registry:`; with `registry.role`, reached through that role assumed for the
    person each push or diagnose is for."""
    from bot.adapters.aws import EcrRegistry

    spec, role = catalog.registry_spec, catalog.registry.role

    def make(session: boto3.session.Session | None = None) -> Registry:
        return EcrRegistry(
            spec,
            endpoint_url=settings.aws_endpoint_url,
            ca_bundle=settings.registry_ca_bundle,
            on_error=on_error,
            session=session,
        )

    if role is None:
        return make()
    from bot.adapters.aws_personal import PersonalRegistry

    return PersonalRegistry(role, spec.region, role_sessions(settings), make)
