"""Slack user groups as the Directory port, cached so authorization stays fast."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

CACHE_TTL_S = 300.0


class SlackDirectory:
    """Members of Slack user groups (`usergroups.users.list`), cached for five minutes."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group_id)
        if cached and self._clock() - cached[0] < CACHE_TTL_S:
            return cached[1]
        try:
            answer = self._client.usergroups_users_list(usergroup=group_id)
            users = frozenset(str(user) for user in answer.get("users") or ())
        except SlackApiError as error:
            # Deny rather than guess; a stale answer is better than none if we had one.
            log.warning("could not list user group %s: %s", group_id, error.response.get("error"))
            return cached[1] if cached else frozenset()
        with self._lock:
            self._cache[group_id] = (self._clock(), users)
        return users


class StaticDirectory:
    """A fixed map of group -> members, for the CLI, the console and tests."""

    def __init__(self, groups: Mapping[str, frozenset[str]] | None = None) -> None:
        self._groups = dict(groups or {})

    def members(self, group_id: str) -> frozenset[str]:
        return self._groups.get(group_id, frozenset())
