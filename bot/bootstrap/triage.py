"""Support-channel triage, built for the bot (moved out of `services.py` to keep it short)."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.adapters.slack_events import MemoryEventLedger, SqlEventLedger
from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_triage import LoggedTriageReplies, SlackTriageReplies
from bot.adapters.store import SqlJobStore
from bot.config import Catalog
from bot.domain.access import Access, Action
from bot.domain.audit import BOT, AuditEntry, Kind, Outcome
from bot.domain.ports import AuditLog, JobStore
from bot.domain.triage import ChatMessage, TriageAnswer
from bot.runtime.executors import Executors
from bot.services.triage import TriageService


def build_triage(
    catalog: Catalog,
    store: JobStore,
    slack: WebClient | None,
    outbox: SlackOutbox | None,
    executors: Executors,
    audit: AuditLog,
    access: Access,
    looked_at: Callable[[str], None] = lambda outcome: None,
) -> TriageService:
    """Support-channel triage; the ledger lives in the shared database when there is one."""
    ledger = SqlEventLedger(store.engine) if isinstance(store, SqlJobStore) else MemoryEventLedger()
    replies = (
        SlackTriageReplies(slack, outbox)
        if slack is not None and outbox is not None
        else LoggedTriageReplies()
    )

    def answered(message: ChatMessage, answer: TriageAnswer) -> None:
        audit.record(
            AuditEntry(
                message.user or BOT,
                Kind.TRIAGE,
                "triage_answer",
                Outcome.OK,
                ",".join(answer.apps) or None,
                message.channel,
                "answered " + ", ".join(answer.signature_ids),
            )
        )

    return TriageService(
        catalog.all_apps,
        catalog.slack.triaged_channels,
        ledger,
        replies,
        executors.pool("triage"),
        registry=catalog.registry_spec,
        # Whom an answer may name an app to: whoever may diagnose it (its Diagnose button).
        may_see=lambda user, app: access.allows(user, Action.DIAGNOSE, app),
        answered=answered,
        looked_at=looked_at,
    )
