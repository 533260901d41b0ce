"""The stores that live in the job store's database (its engine, and SQLite's one writer)."""

from __future__ import annotations

from collections.abc import Callable

from bot.adapters.audit_store import SqlAuditLog
from bot.adapters.lock_store import SqlLockStore
from bot.adapters.store import SqlJobStore
from bot.domain.locks import LockStore
from bot.domain.ports import AuditLog, JobStore


def audit_log(store: JobStore, pause: Callable[[float], None] = lambda _scale: None) -> AuditLog:
    """The audit log beside the jobs; its writes wait for `pause` (the acks in flight)."""
    if not isinstance(store, SqlJobStore):
        raise ValueError("no audit log: pass one with a job store that is not SqlJobStore")
    return SqlAuditLog(store.engine, writer=store.writer, pause=pause)


def lock_store(store: JobStore) -> LockStore:
    """Locks beside the jobs (shared by replicas)."""
    if not isinstance(store, SqlJobStore):
        raise ValueError("no lock store: pass one with a job store that is not SqlJobStore")
    return SqlLockStore(store.engine, writer=store.writer)
