"""What the bot and the terminal commands build the same way: diagnose, reports, AWS facts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.aws_facts import AwsFacts
from bot.adapters.aws_hooks import OnAwsError
from bot.adapters.registry_snapshot import RegistryReader
from bot.adapters.report_store import SqlReportHistory
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_report import SlackReportPoster
from bot.config import Catalog, Settings
from bot.domain.access import Access, RateLimiter
from bot.domain.ports import (
    Engine,
    JobStore,
    Publish,
    Published,
    Registry,
    WorkflowSource,
)
from bot.runtime.executors import Executors
from bot.services.diagnose import Diagnoser
from bot.services.reports import ReportRunner, ReportService

log = logging.getLogger(__name__)


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
) -> ReportRunner:
    """The health report: an ECR/IAM reader, the job store, figures history, and a publisher."""
    spec = catalog.registry_spec

    def reader() -> RegistryReader:
        return RegistryReader(
            spec.region, spec.account_id, endpoint_url=settings.aws_endpoint_url, on_error=on_error
        )

    service = ReportService(
        catalog,
        reader,
        aws_facts(settings, catalog, registry, executors, on_error),
        store,
        SqlReportHistory(settings.database_url),
    )
    publish: Publish = (
        SlackReportPoster(slack, outbox, catalog.slack.channel)
        if slack is not None and outbox is not None
        else _log_published
    )
    return ReportRunner(service, publish, access, limiter, pool=executors.pool("reports"))


def build_diagnoser(
    settings: Settings,
    catalog: Catalog,
    engine: Engine,
    registry: Registry,
    workflows: WorkflowSource,
    executors: Executors,
    on_error: OnAwsError | None = None,
) -> Diagnoser:
    """Diagnose's snapshot comes from AWS (boto3) and the apps' git sources."""
    facts = aws_facts(settings, catalog, registry, executors, on_error)
    return Diagnoser(
        catalog.registry_spec, catalog.app, workflows, engine, facts, executors.pool("checks")
    )


def aws_facts(
    settings: Settings,
    catalog: Catalog,
    registry: Registry,
    executors: Executors,
    on_error: OnAwsError | None = None,
) -> Callable[[], AwsFacts]:
    """A factory of per-run AWS lookups sharing one thread pool."""
    spec = catalog.registry_spec
    pool = executors.pool("aws_calls")

    def facts() -> AwsFacts:
        return AwsFacts(
            spec.region,
            spec.account_id,
            endpoint_url=settings.aws_endpoint_url,
            ca_bundle=settings.registry_ca_bundle,
            pool=pool,
            registry=registry,
            on_error=on_error,
        )

    return facts


def _log_published(built: Published, channel: str | None, reply_url: str | None) -> None:
    log.info("registry report (no Slack): %s", built.report.figures.to_json())
