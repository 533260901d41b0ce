"""Reading the audit log: the latest entries that match, and how many match in all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain.audit import AuditPage, AuditQuery
from bot.domain.ports import AuditLog

SHOWN = 50  # entries in one Slack answer; `ecrbot audit` exports the rest
FLUSH_S = 1.0  # the wait for entries written behind acknowledgements: this one is one too


def latest(
    log: AuditLog,
    app: str | None = None,
    user: str | None = None,
    within: timedelta | None = None,
    *,
    limit: int = SHOWN,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditPage:
    """The newest entries (of `app`, by `user`, in the last `within`), just-recorded ones too."""
    log.flush(FLUSH_S)
    since = clock() - within if within is not None else None
    query = AuditQuery(app=app, user=user, since=since, limit=limit)
    return AuditPage(query, log.entries(query), log.count(query))
