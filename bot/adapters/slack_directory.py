"""Slack user groups as the Directory port: read from memory, refreshed off the request path.

Authorization runs inside Slack's 3 s acknowledgement, so it never waits for Slack: one
background thread per process reads every catalog group with `usergroups.users.list`, paced for
its rate tier, and the `subteam_*` events apply changes as they happen. The request path only
reads that cache; a group it has no fresh answer for gets one call at a time (single flight),
never while Slack has asked for a pause, through a client that does not sleep through 429s.

At start the first groups are read back to back, not paced (`FIRST_ROUND`), and `warmed` says
when that is over, for /readyz: a replica that took traffic before it knew the admins group made
every request of its first burst wait on one Slack call (bench_ack's cold round, issue #19).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.static_directory import StaticDirectory as StaticDirectory

log = logging.getLogger(__name__)

# A group is read again a minute after its last answer; an answer older than five minutes
# counts for nothing: access fails closed (the rule of issue #9).
REFRESH_AFTER_S = 60.0
CACHE_TTL_S = 300.0
# usergroups.users.list is Tier 2, "20+ per minute"
# (https://docs.slack.dev/reference/methods/usergroups.users.list, read 2026-05): one call
# every 3 s keeps the refresher inside it with room for the request path's rare misses.
CALL_SPACING_S = 3.0
# After a failed call (no Retry-After), the request path leaves Slack alone this long, so an
# outage costs one failed call per pause, not one per group per request.
FAILURE_PAUSE_S = 10.0
# How long a request waits for another request's call for the same group.
MISS_WAIT_S = 1.0
# Groups read back to back when the process starts, before the pacing: half of Tier 2's
# minute, so the paced reads and the request path's rare misses still fit in it.
FIRST_ROUND = 10


class SlackDirectory:
    """Members of Slack user groups (`usergroups.users.list`), served from a cache."""

    def __init__(
        self,
        client: WebClient,
        groups: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], float] = time.monotonic,
        spacing_s: float = CALL_SPACING_S,
    ) -> None:
        self._client = client  # no 429 retry handler: a 429 is an answer here
        self._groups = groups  # the catalog's groups, read on every round
        self._clock = clock
        self._spacing_s = spacing_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._flights: dict[str, Future[frozenset[str] | None]] = {}
        self._due: set[str] = set()  # changed by an event: read again first
        self._quiet_until = 0.0  # Slack asked for a pause (429 Retry-After) or just failed
        self._asked: set[str] = set()  # groups asked at least once, answered or not
        self._warmed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.calls = 0  # usergroups.users.list calls made (tests and the benchmark read it)

    def members(self, group_id: str) -> frozenset[str]:
        """The group's members from memory; a group with no fresh answer gets one call."""
        with self._lock:
            cached = self._cache.get(group_id)
        if cached is not None and self._clock() - cached[0] < CACHE_TTL_S:
            return cached[1]
        return self._miss(group_id) or frozenset()

    # -- the background refresher -------------------------------------------------------

    def start(self) -> None:
        """Start the one refresher thread of this process (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="ecrbot-directory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    @property
    def warmed(self) -> bool:
        """The first round is over: every catalog group asked once (answered or not), or
        FIRST_ROUND of them, or Slack asked to wait. Past that, a miss is the rare case."""
        if not self._warmed:
            groups = set(self._groups())
            with self._lock:
                asked = set(self._asked)
            self._warmed = (
                groups <= asked or len(asked) >= FIRST_ROUND or self._clock() < self._quiet_until
            )
        return self._warmed

    def refresh_next(self) -> float:
        """Read the group most in need of it; return how long to wait before the next read
        (none during the first round)."""
        group, wait = self._next_due()
        if group is None:
            return wait
        self._fetch(group)
        return self._spacing_s if self.warmed else 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.refresh_next()
            except Exception:  # the refresher must outlive any surprise; log and go on
                log.exception("user group refresh failed")
                wait = FAILURE_PAUSE_S
            self._wake.wait(max(wait, self._quiet_until - self._clock(), 0.0))
            self._wake.clear()

    def _next_due(self) -> tuple[str | None, float]:
        now = self._clock()
        if now < self._quiet_until:
            return None, self._quiet_until - now
        groups = list(dict.fromkeys(self._groups()))  # the catalog's order: admins first
        with self._lock:
            due = [g for g in groups if g in self._due]
            ages = {
                g: now - self._cache[g][0] if g in self._cache else float("inf") for g in groups
            }
        if due:
            return due[0], 0.0
        if not ages:
            return None, REFRESH_AFTER_S
        oldest = max(ages, key=lambda g: ages[g])
        if ages[oldest] >= REFRESH_AFTER_S:
            return oldest, 0.0
        return None, REFRESH_AFTER_S - ages[oldest]

    # -- events ---------------------------------------------------------------------------

    def apply_event(self, event: Mapping[str, Any]) -> None:
        """`subteam_members_changed` / `subteam_updated`: change the cached members now.

        Removals take effect at once; neither event makes an entry fresher (only a full read
        does), and the group is read again next. subteam_updated's `users` is truncated at 500
        (https://docs.slack.dev/reference/events/subteam_updated), so only a complete list
        replaces the cached one.
        """
        kind = event.get("type")
        if kind == "subteam_members_changed":
            group = str(event.get("subteam_id") or "")
            added = {str(u) for u in event.get("added_users") or ()}
            removed = {str(u) for u in event.get("removed_users") or ()}
            self._change(group, lambda users: (users | added) - removed)
        elif kind == "subteam_updated":
            subteam = event.get("subteam") or {}
            group = str(subteam.get("id") or "")
            listed = frozenset(str(u) for u in subteam.get("users") or ())
            complete = str(subteam.get("user_count", len(listed))) == str(len(listed))
            self._change(group, lambda users: listed if complete else users & listed)

    def _change(self, group: str, change: Callable[[frozenset[str]], frozenset[str]]) -> None:
        if not group.startswith("S"):
            return
        with self._lock:
            cached = self._cache.get(group)
            if cached is not None:
                self._cache[group] = (cached[0], frozenset(change(cached[1])))
            self._due.add(group)
        self._wake.set()

    # -- Slack calls ----------------------------------------------------------------------

    def _miss(self, group_id: str) -> frozenset[str] | None:
        if self._clock() < self._quiet_until:
            log.warning(
                "user group %s: no fresh answer and Slack asked to wait; refusing", group_id
            )
            return None
        with self._lock:
            flight = self._flights.get(group_id)
            leader = flight is None
            if flight is None:
                flight = self._flights[group_id] = Future()
        if not leader:
            try:
                return flight.result(timeout=MISS_WAIT_S)
            except FutureTimeout:
                return None
        try:
            users = self._fetch(group_id)
        finally:
            with self._lock:
                self._flights.pop(group_id, None)
        flight.set_result(users)
        return users

    def _fetch(self, group_id: str) -> frozenset[str] | None:
        self.calls += 1
        with self._lock:
            self._asked.add(group_id)
        try:
            answer = self._client.usergroups_users_list(usergroup=group_id)
            users = frozenset(str(user) for user in answer.get("users") or ())
        except Exception as error:  # SlackApiError, timeouts, connection errors alike
            self._failed(group_id, error)
            return None
        with self._lock:
            self._cache[group_id] = (self._clock(), users)
            self._due.discard(group_id)
        return users

    def _failed(self, group_id: str, error: Exception) -> None:
        pause, why = FAILURE_PAUSE_S, type(error).__name__
        if isinstance(error, SlackApiError):
            why = str(error.response.get("error"))
            if error.response.status_code == 429:
                pause = _retry_after(error.response.headers) or FAILURE_PAUSE_S
        self._quiet_until = max(self._quiet_until, self._clock() + pause)
        log.warning("user group %s: Slack failed (%s); pausing %.0f s", group_id, why, pause)


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """Retry-After in seconds, whatever the header's case (values may come as lists)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            first = str(value[0] if isinstance(value, list | tuple) and value else value)
            return float(first) if first.strip().isdigit() else None
    return None
