"""A promotion as ecrbot records it, so its buttons work on any replica and after a restart:
Cancel while it runs or waits for approval, Retry once it failed or was cancelled, and a run
that was mid-copy when the bot died ends as failed (with Retry) on the next start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.approvals import ApprovalState
from bot.domain.errors import UsageError
from bot.domain.text import code


class RunState(StrEnum):
    RUNNING = "running"  # resolve, gate, copy, verify: on some replica's `promotions` pool
    AWAITING = "awaiting"  # an approval request is open; the click carries it on
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunState.RUNNING, RunState.AWAITING)


OPEN = (RunState.RUNNING, RunState.AWAITING)
RUN_ID_CHARS = 64  # a button's value is cut to this before it is looked up


@dataclass(frozen=True)
class PromotionRun:
    """One promotion's record: what was asked, by whom, where its thread is, how it stands."""

    id: str
    app: str
    ref: str
    environment: str
    requested_by: str
    channel: str | None
    state: RunState
    updated_at: datetime
    thread_ts: str | None = None
    digest: str | None = None  # once resolved (the last succeeded one: what the env runs)
    ended_by: str | None = None  # who cancelled it
    retried_by: str | None = None  # who clicked its Retry (one click, one new promotion)


class PromotionRunStore(Protocol):
    """Promotion records in the bot's database (every replica sees them; they outlive it)."""

    def add(self, run: PromotionRun) -> None: ...

    def get(self, run_id: str) -> PromotionRun | None: ...

    def move(
        self,
        run_id: str,
        state: RunState,
        only_from: tuple[RunState, ...],
        at: datetime,
        by: str | None = None,
        digest: str | None = None,
    ) -> bool:
        """`only_from` → `state`, once (a conditional update): False when it was in no state of
        `only_from`, so a cancel and a failure racing each other are told once."""
        ...

    def touch(self, run_id: str, at: datetime) -> None:
        """A step was made: the run is alive (a replica's sweep fails only stale ones)."""
        ...

    def set_thread(self, run_id: str, channel: str, thread_ts: str) -> None: ...

    def claim_retry(self, run_id: str, user: str) -> bool:
        """Mark the run retried by `user`, once: False when someone's Retry came first."""
        ...

    def in_state(self, state: RunState, before: datetime | None = None) -> list[PromotionRun]:
        """Runs in `state` (last updated before `before`, if given), oldest first, bounded."""
        ...

    def last_succeeded(self, app: str, environment: str) -> PromotionRun | None:
        """The newest promotion of `app` to `environment` that succeeded: what it runs now, as
        far as ecrbot knows."""
        ...

    def recent(self, limit: int) -> list[PromotionRun]:
        """The runs last updated, newest first, at most `limit` (`/ecr jobs`, App Home)."""
        ...


@dataclass(frozen=True)
class ListedPromotion:
    """A promotion as `/ecr jobs` and App Home list it: its record, where its image comes
    from and goes to (None: the app or environment left the catalog), and its approval."""

    run: PromotionRun
    source: str | None = None  # the environment before the target, or HOME (pushes land there)
    source_registry: str | None = None
    target_registry: str | None = None
    approval: ApprovalState | None = None  # its approval request's state, if it asked one
    decided_by: str | None = None  # who approved or rejected it
    expires_at: datetime | None = None  # while it waits: when its request expires
    approvers: tuple[str, ...] = ()  # while it waits: who may approve (users, user groups)
    admins_only: bool = False  # the scan gate failed: only an admin's approval overrides it
    link: str | None = None  # its thread's URL, when it has a thread and Slack told it


def unknown_run() -> UsageError:
    return UsageError(
        "ecrbot has no record of this promotion.", "Ask for it again with `/ecr promote`."
    )


def not_running(run: PromotionRun) -> UsageError:
    what = f"{code(run.app)} {code(run.ref)} to {code(run.environment)}"
    return UsageError(f"The promotion of {what} already {run.state.value}.", "Nothing to cancel.")


def not_retryable(run: PromotionRun) -> UsageError:
    what = f"{code(run.app)} {code(run.ref)} to {code(run.environment)}"
    if run.retried_by is not None:
        return UsageError(
            f"The promotion of {what} was already retried by {code(run.retried_by)}.",
            "See the newer promotion's thread.",
        )
    if run.state is RunState.SUCCEEDED:
        return UsageError(f"The promotion of {what} succeeded.", "Nothing to retry.")
    return UsageError(
        f"The promotion of {what} is still {run.state.value}.", "Cancel it first, or wait."
    )
