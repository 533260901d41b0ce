"""Promotions, built alike for the bot and `ecrbot promote`: skopeo, logged in to each registry
with ECR's own login answer for that account and region."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.bootstrap.sessions import role_sessions
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.access import Access
from bot.domain.approvals import Approval
from bot.domain.audit import AuditEntry, Kind, Outcome
from bot.domain.commit_diff import CommitDiff, CommitLog
from bot.domain.cve_sla import Risk
from bot.domain.environments import HOME, NamedRegistry
from bot.domain.on_behalf import current_on_behalf
from bot.domain.ports import AuditLog, JobStore
from bot.domain.promotion import (
    DigestReader,
    ImageCopier,
    ImageRef,
    Promoted,
    PromotionNotices,
    PromotionPlan,
    PromotionRequest,
    PromotionStep,
    built_from,
    pushed_tags,
)
from bot.domain.scan_gate import Verdict
from bot.services.promotions import PromotionService
from bot.services.scan_gates import ScanGates

if TYPE_CHECKING:  # the Slack side's services: `ecrbot promote` builds none of them
    from slack_sdk import WebClient

    from bot.adapters.aws_sessions import RoleSessions
    from bot.adapters.ecr_digests import EcrClient, EcrDigests, EcrLogins
    from bot.adapters.slack_outbox import SlackOutbox
    from bot.domain.promotion_runs import PromotionRunStore
    from bot.runtime.executors import Executors
    from bot.services.promotion_requests import PromotionRequests

log = logging.getLogger(__name__)

Locked = Callable[[str, str | None, str], None]
PUSHES_READ = 500  # recent jobs searched for the push that made a promoted digest
LOGINS_KEPT = 64  # registry logins kept: one per registry and person's job with a role


def ecr_clients(settings: Settings, sessions: RoleSessions | None = None) -> EcrClient:
    """An ECR API client per registry (account, region), in the registry's `role:` assumed for
    the person the promotion is for (their SourceIdentity, the app and job tags), or with the
    bot's own credentials where no role is named (the home registry, unless `registry.role` is
    set); made once and kept (bounded). A refused role is the caller's to word."""
    from botocore.config import Config

    sessions = sessions or role_sessions(settings)
    clients: OrderedDict[tuple[object, ...], Any] = OrderedDict()
    # botocore makes clients thread-unsafely (a session's lazy setup): one at a time.
    guard = threading.Lock()
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5)

    def client(named: NamedRegistry) -> Any:
        who = current_on_behalf.get()
        key = (named.account_id, named.region, named.role, who if named.role else None)
        with guard:
            found = clients.get(key)
            if found is None:
                session = sessions.core(named.role, who, named.region)  # botocore: no boto3
                found = clients[key] = session.create_client(
                    "ecr", region_name=named.region, endpoint_url=settings.aws_endpoint_url,
                    config=config,
                )  # fmt: skip
                while len(clients) > LOGINS_KEPT:
                    clients.popitem(last=False)
            return found

    return client


def ecr_logins(
    settings: Settings, sessions: RoleSessions | None = None, clients: EcrClient | None = None
) -> Callable[[ImageRef], tuple[str, str]]:
    """A login per registry (account, region) from ECR's `GetAuthorizationToken`, on the
    registry's client (`ecr_clients`), cached until shortly before it expires."""
    from bot.adapters.ecr_digests import EcrLogins

    return EcrLogins(clients or ecr_clients(settings, sessions))


def first_environment(catalog: Catalog) -> Callable[[str], str | None]:
    """Where a fresh push of an app is promoted first (its Promote button), if anywhere."""

    def first(name: str) -> str | None:
        app = catalog.app(name)
        return app.environments[0].name if app and app.environments else None

    return first


class PromotionIo(NamedTuple):
    """A promotion's ECR reads, its copier, and the copier's logins (to start them early)."""

    reader: EcrDigests
    copier: ImageCopier
    logins: EcrLogins


def promotion_io(settings: Settings, sessions: RoleSessions | None = None) -> PromotionIo:
    """Digests read from ECR's API (`BatchGetImage`) and skopeo for a copy (Debian's `skopeo`;
    see the README's "Why skopeo"), on the same clients (a copy's logins reuse the role sessions
    its digest reads assumed)."""
    from bot.adapters.ecr_digests import EcrDigests, EcrLogins
    from bot.adapters.skopeo import SkopeoCopier

    clients = ecr_clients(settings, sessions)
    logins = EcrLogins(clients)
    copier = SkopeoCopier(logins, ca_bundle=settings.registry_ca_bundle)
    return PromotionIo(EcrDigests(clients), copier, logins)


def build_gates(settings: Settings, catalog: Catalog) -> ScanGates:
    """The scan gate: ECR's findings (Inspector's with enhanced scanning) judged by each app's
    risk tier, the one the health report holds its repository to."""
    from bot.adapters.scan_findings import EcrScanFindings, boto3_clients

    def tier_of(app: str) -> Risk | None:
        config = catalog.apps.get(app)
        return config.risk if config is not None else None

    return ScanGates(EcrScanFindings(boto3_clients(settings.aws_endpoint_url)), tier_of)


def build_promotions(
    settings: Settings,
    catalog: Catalog,
    access: Access,
    locked: Locked,
    copier: ImageCopier | None = None,
    jobs: JobStore | None = None,
    reader: DigestReader | None = None,
    pushed: Callable[[str, str], tuple[str, ...]] | None = None,
) -> PromotionService:
    """The promotion service over the catalog's apps and registries (`jobs`: ecrbot's record of
    its pushes, for the other tag of a promoted digest, unless `pushed` reads it directly;
    `reader`: where digests are read before a copy, ECR's API unless a copier is handed in, as
    tests do)."""
    if copier is None:
        reader, copier, _ = promotion_io(settings)
    if pushed is None:
        pushed = (
            (lambda app, digest: pushed_tags(jobs.recent(PUSHES_READ), app, digest))
            if jobs is not None
            else (lambda app, digest: ())
        )
    return PromotionService(
        catalog.app,
        access,
        copier,
        catalog.named_registries()[HOME],
        locked=locked,
        gates=build_gates(settings, catalog),
        pushed=pushed,
        reader=reader,
    )


class AuditedNotices:
    """Each promotion's outcome in the audit log (the request itself is audited by the
    listener), then told in its thread."""

    def __init__(self, notices: PromotionNotices, audit: AuditLog) -> None:
        self._notices = notices
        self._audit = audit

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None:
        self._notices.started(request, planned)

    def step(self, request: PromotionRequest, step: PromotionStep, planned: PromotionPlan) -> None:
        self._notices.step(request, step, planned)

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        outcome = Outcome.OK if verdict.passed else Outcome.REFUSED
        detail = f"{request.ref} -> {request.environment}: {planned.digest}"
        reason = None if verdict.passed else verdict.reason()[:500]
        self._record(request, outcome, detail, reason, "scan_gate")
        self._notices.gated(request, planned, verdict)

    def finished(self, request: PromotionRequest, done: Promoted) -> None:
        how = "copied" if done.copied else "already there"
        detail = f"{request.ref} -> {request.environment}: {done.plan.digest} ({how})"
        self._record(request, Outcome.OK, detail, None)
        self._notices.finished(request, done)

    def failed(self, request: PromotionRequest, reason: str) -> None:
        detail = f"{request.ref} -> {request.environment}"
        self._record(request, Outcome.ERROR, detail, reason)
        self._notices.failed(request, reason)

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        detail = (
            f"{request.ref} -> {request.environment}: {planned.digest} (approval {approval.id})"
        )
        self._record(request, Outcome.OK, detail, None, "approval_requested")
        self._notices.awaiting(request, planned, approval, commits)

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        # The click is audited by the listener, in the canceller's name.
        self._notices.cancelled(request, by)

    def _record(
        self,
        request: PromotionRequest,
        outcome: Outcome,
        detail: str,
        reason: str | None,
        action: str = "promote_outcome",
    ) -> None:
        self._audit.record(
            AuditEntry(
                request.user,
                Kind.COMMAND,
                action,
                outcome,
                request.app,
                request.channel,
                detail,
                reason,
            )
        )


class LoggedNotices:
    """Without Slack (tests, the sandbox): a promotion's thread in the log."""

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None:
        log.info("promotion of %s %s to %s started", request.app, request.ref, request.environment)

    def step(self, request: PromotionRequest, step: PromotionStep, planned: PromotionPlan) -> None:
        log.info("promotion of %s: %s", request.app, step.value)

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        log.info("promotion of %s: scan gate passed=%s", request.app, verdict.passed)

    def finished(self, request: PromotionRequest, done: Promoted) -> None:
        log.info("promotion of %s: %s", request.app, done.plan.digest)

    def failed(self, request: PromotionRequest, reason: str) -> None:
        log.info("promotion of %s failed", request.app)

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        log.info("promotion of %s awaits approval %s", request.app, approval.id)

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        log.info("promotion of %s cancelled", request.app)


def build_promotion_requests(
    settings: Settings,
    catalog: Catalog,
    access: Access,
    locked: Locked,
    executors: Executors,
    audit: AuditLog,
    slack: WebClient | None,
    outbox: SlackOutbox | None,
    copier: ImageCopier | None = None,
    store: JobStore | None = None,
    history: CommitLog | None = None,
    link: Callable[[str, str], str | None] = lambda channel, thread_ts: None,
) -> PromotionRequests:
    """`/ecr promote`: the service, its own pool (`promotions`), a thread per request, and
    approvals and promotion records in the job store's database (without one, environments
    with approvers refuse, and Cancel and Retry work only until a restart)."""
    from bot.adapters.promotion_store import MemoryPromotionRunStore, SqlPromotionRunStore
    from bot.adapters.store import SqlJobStore
    from bot.services.approvals import ApprovalService
    from bot.services.promotion_list import PromotionListing
    from bot.services.promotion_requests import PromotionRequests
    from bot.services.promotion_runs import PromotionControl, TrackedNotices

    approvals = None
    runs: PromotionRunStore = MemoryPromotionRunStore()
    listing = PromotionListing(runs, access, catalog.app, link=link)
    if isinstance(store, SqlJobStore):
        from bot.adapters.approval_store import SqlApprovalStore

        approval_store = SqlApprovalStore(store.engine, writer=store.writer)
        approvals = ApprovalService(approval_store, access, catalog.app, audit)
        runs = SqlPromotionRunStore(store.engine, writer=store.writer)
        listing = PromotionListing(runs, access, catalog.app, approval_store.get, link)
    notices: PromotionNotices = LoggedNotices()
    expired: Callable[[Approval], None] = _log_expired
    if slack is not None and outbox is not None:
        from bot.adapters.slack_promotion import SlackPromotionPoster

        remember = approvals.remember_thread if approvals else (lambda *_: None)
        notices = poster = SlackPromotionPoster(
            slack, outbox, catalog.slack.channel, remember, runs.set_thread
        )
        expired = poster.expired
    tracked = TrackedNotices(AuditedNotices(notices, audit), runs)
    return PromotionRequests(
        build_promotions(settings, catalog, access, locked, copier, store),
        tracked,
        executors.pool("promotions"),
        catalog.all_apps,
        approvals=approvals,
        on_expired=expired,
        control=PromotionControl(runs, access, catalog.app, tracked, approvals),
        commits=_commits(catalog, runs, store, history),
        listing=listing,
    )


def _commits(
    catalog: Catalog, runs: PromotionRunStore, jobs: JobStore | None, history: CommitLog | None
) -> Callable[[PromotionPlan], CommitDiff] | None:
    """The commits an approval request lists: needs ecrbot's push records and a git mirror."""
    if jobs is None or history is None:
        return None

    def made(app: str, digest: str) -> str | None:
        return built_from(jobs.recent(PUSHES_READ), app, digest)

    from bot.services.commit_diffs import CommitDiffs

    return CommitDiffs(catalog.app, runs, made, history).since_running


def _log_expired(approval: Approval) -> None:
    log.info("approval %s (%s to %s) expired", approval.id, approval.app, approval.environment)
