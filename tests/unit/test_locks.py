"""Locks: who may take and lift them, what they stop, and what the refusal says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain import commands as cmd
from bot.domain.access import Access
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.errors import NotAuthorized, UsageError
from bot.domain.locks import Lock, Locked
from bot.domain.models import JobState
from bot.services.locks import LockService
from tests.fakes import MemoryLockStore, app_spec
from tests.unit.test_jobs import Groups, request, service

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PROD = Environment("prod", NamedRegistry("prod", "210987654321", "eu-west-2", "arn:r"), "my-app")
STAGING = Environment("staging", NamedRegistry(HOME, "123456789012", "eu-west-2"), "my-app-stg")
APP = app_spec(environments=(STAGING, PROD))
GROUPS = Groups()
GROUPS.groups["S0APPTEAM"].add("U0BOB")


def locks(
    store: MemoryLockStore | None = None, monotonic: Callable[[], float] = lambda: 0.0
) -> LockService:
    apps = {"my-app": APP}
    access = Access(("S0PLATFORM",), GROUPS)
    return LockService(
        apps.get,
        lambda: list(apps.values()),
        access,
        store or MemoryLockStore(),
        clock=lambda: NOW,
        monotonic=monotonic,
    )


def test_the_grammar() -> None:
    assert cmd.parse('lock my-app prod "freeze until Monday"') == cmd.Lock(
        "my-app", "prod", "freeze until Monday"
    )
    assert cmd.parse("lock my-app freeze") == cmd.Lock("my-app", None, "freeze")
    assert cmd.parse("unlock my-app") == cmd.Unlock("my-app", None)
    assert cmd.parse("unlock my-app prod") == cmd.Unlock("my-app", "prod")
    assert cmd.parse("locks") == cmd.Locks()
    for words in ("lock", "lock my-app", "unlock", "unlock my-app prod x", "locks x"):
        with pytest.raises(UsageError):
            cmd.parse(words)


def test_a_word_that_is_not_an_environment_starts_the_reason_and_locks_the_whole_app() -> None:
    lock = locks().lock("U0ALICE", "my-app", "deploy", "is broken")
    assert (lock.environment, lock.reason) == (None, "deploy is broken")


def test_a_lock_belongs_to_the_app_not_the_person() -> None:
    service = locks()
    taken = service.lock("U0ALICE", "my-app", "prod", "freeze")
    again = service.lock("U0BOB", "my-app", "prod", "another reason")
    assert again == taken  # the existing lock is kept and shown, not replaced
    lifted = service.unlock("U0BOB", "my-app", "prod")  # another pusher lifts Alice's lock
    assert lifted.locked_by == "U0ALICE"
    with pytest.raises(UsageError, match="is not locked"):
        service.unlock("U0BOB", "my-app", "prod")


def test_only_pushers_and_admins_lock_and_unlock_and_everyone_reads() -> None:
    service = locks()
    with pytest.raises(NotAuthorized):
        service.lock("U0MALLORY", "my-app", None, "mine now")
    service.lock("U0ALICE", "my-app", None, "freeze")
    with pytest.raises(NotAuthorized):
        service.unlock("U0MALLORY", "my-app", None)
    assert [lock.reason for lock in service.held("U0MALLORY")] == ["freeze"]
    assert service.unlock("U0ADMIN", "my-app", None).locked_by == "U0ALICE"


def test_unlock_of_an_unknown_environment_names_the_apps() -> None:
    with pytest.raises(UsageError) as refused:
        locks().unlock("U0ALICE", "my-app", "qa")
    assert "`staging`, `prod`" in refused.value.next_step


def test_what_a_lock_stops_and_the_refusal_names_who_when_and_why() -> None:
    service = locks()
    service.lock("U0ALICE", "my-app", "prod", "release freeze")
    service.check("my-app", None, "Pushes")  # a prod lock doesn't stop pushes
    service.check("my-app", "staging", "Promotions")
    with pytest.raises(Locked) as refused:
        service.check("my-app", "prod", "Promotions to prod")
    assert refused.value.message == (
        "Promotions to prod are locked: `my-app prod` was locked by `U0ALICE` at "
        "2026-03-02 09:30 UTC: release freeze"
    )
    service.lock("U0ALICE", "my-app", None, "incident")
    for environment in (None, "staging", "prod"):
        with pytest.raises(Locked):
            service.check("my-app", environment, "Work")


def test_a_locked_app_refuses_pushes_and_a_lock_taken_while_queued_stops_the_build(
    tmp_path: Path,
) -> None:
    store = MemoryLockStore()
    lock_service = locks(store)
    jobs, reporter = service(tmp_path, directory=GROUPS, locked=lock_service.check)
    lock_service.lock("U0BOB", "my-app", None, "incident 42")
    with pytest.raises(Locked, match="incident 42"):
        jobs.submit(request(), "t-1")
    lock_service.unlock("U0BOB", "my-app", None)
    jobs.submit(request(), "t-2")  # queued, not started: the worker is not running
    lock_service.lock("U0BOB", "my-app", None, "incident 43")
    jobs.start()
    [finished] = reporter.wait_finished(1)
    assert finished.state is JobState.FAILED and finished.failure is not None
    assert finished.failure.title == "Locked" and "incident 43" in finished.failure.explanation
    jobs.stop()


class CountingLockStore(MemoryLockStore):
    """Locks in a dict, its reads counted; `locks` may be changed behind the service's back,
    as another replica does."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def held(self, app: str | None = None) -> list[Lock]:
        self.reads += 1
        return super().held(app)


def test_the_acks_check_reads_the_locks_once_a_second_and_sees_its_own_changes_at_once(
    tmp_path: Path,
) -> None:
    store, now = CountingLockStore(), [100.0]
    lock_service = locks(store, monotonic=lambda: now[0])
    jobs, reporter = service(
        tmp_path, directory=GROUPS, locked=lock_service.check, admit_locked=lock_service.admits
    )
    jobs.submit(request(), "t-1")
    jobs.submit(request(), "t-2")
    assert store.reads == 1  # one read for both acknowledgements
    lock_service.lock("U0BOB", "my-app", None, "incident 42")
    with pytest.raises(Locked, match="incident 42"):  # this process's lock: seen at once
        jobs.submit(request(), "t-3")
    lock_service.unlock("U0BOB", "my-app", None)
    jobs.submit(request(), "t-4")
    # Another replica's lock: the snapshot of a moment ago lets the push in, and its job's
    # start, which asks the store, stops it.
    store.take(Lock("my-app", None, "incident 43", "U0BOB", NOW))
    jobs.submit(request(), "t-5")
    now[0] += 1.0  # a second on: read again
    with pytest.raises(Locked, match="incident 43"):
        jobs.submit(request(), "t-6")
    jobs.start()
    finished = reporter.wait_finished(4)  # t-1, t-2, t-4, t-5: the lock now stops them all
    assert [job.failure.title if job.failure else None for job in finished] == ["Locked"] * 4
    jobs.stop()


def test_warm_reads_the_snapshot_the_first_acknowledgement_uses(tmp_path: Path) -> None:
    store, now = CountingLockStore(), [100.0]
    lock_service = locks(store, monotonic=lambda: now[0])
    lock_service.warm()  # before traffic: the warm-up piece /readyz waits for
    assert store.reads == 1
    jobs, _ = service(
        tmp_path, directory=GROUPS, locked=lock_service.check, admit_locked=lock_service.admits
    )
    jobs.submit(request(), "t-1")
    assert store.reads == 1  # the acknowledgement read nothing
