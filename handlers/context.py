"""What listeners get from Bolt's context: the services, typed by the layers they may use.

A Protocol, not the composition root's `Services`: importing that would load every adapter
(boto3, docker, SQLAlchemy, matplotlib) with `handlers`, and the layer contracts forbid it.
`bot.bootstrap.Services` satisfies it (mypy checks it where `build_app` registers listeners).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from bot.domain.access import Access, ChannelRule
from bot.domain.models import AppSpec
from bot.domain.ports import AuditLog
from bot.services.diagnose import DiagnoseService
from bot.services.home import HomeService
from bot.services.jobs import JobService
from bot.services.locks import LockService
from bot.services.promotion_requests import PromotionRequests
from bot.services.reports import ReportRunner
from bot.services.triage import TriageService


class SlackRules(Protocol):
    @property
    def channel_rule(self) -> ChannelRule: ...


class AppCatalog(Protocol):
    """The catalog as listeners read it: the channel rule and an app by name."""

    @property
    def slack(self) -> SlackRules: ...

    def app(self, name: str) -> AppSpec | None: ...


class RequestGate(Protocol):
    """Counts Slack requests in flight, which background work yields to (`runtime/ack_first`)."""

    def request(self) -> AbstractContextManager[None]: ...


class HandlerServices(Protocol):
    """Everything a listener or the dispatch wrapper uses."""

    @property
    def catalog(self) -> AppCatalog: ...
    @property
    def access(self) -> Access: ...
    @property
    def jobs(self) -> JobService: ...
    @property
    def diagnose(self) -> DiagnoseService: ...
    @property
    def reports(self) -> ReportRunner: ...
    @property
    def triage(self) -> TriageService: ...
    @property
    def home(self) -> HomeService: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def locks(self) -> LockService: ...
    @property
    def promotions(self) -> PromotionRequests: ...
    @property
    def ack_first(self) -> RequestGate: ...

    def groups_changed(self, event: dict[str, object]) -> None: ...
