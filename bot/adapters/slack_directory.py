"""Slack user groups as the Directory port, cached so authorization stays fast."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# A group's members are asked again after a minute; when Slack can't answer, the last answer
# stands for at most five minutes, then the group counts as empty: access fails closed.
REFRESH_AFTER_S = 60.0
CACHE_TTL_S = 300.0


class SlackDirectory:
    """Members of Slack user groups (`usergroups.users.list`), cached briefly."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group_id)
        age = self._clock() - cached[0] if cached else None
        if cached and age is not None and age < REFRESH_AFTER_S:
            return cached[1]
        try:
            answer = self._client.usergroups_users_list(usergroup=group_id)
            users = frozenset(str(user) for user in answer.get("users") or ())
        except Exception as error:  # SlackApiError, timeouts, connection errors alike
            why = (
                error.response.get("error")
                if isinstance(error, SlackApiError)
                else type(error).__name__
            )
            if cached and age is not None and age < CACHE_TTL_S:
                log.warning(
                    "user group %s: Slack failed (%s); using %.0f s old answer", group_id, why, age
                )
                return cached[1]
            log.warning(
                "user group %s: Slack failed (%s) and no fresh answer; refusing", group_id, why
            )
            return frozenset()
        with self._lock:
            self._cache[group_id] = (self._clock(), users)
        return users


class StaticDirectory:
    """A fixed map of group -> members, for the CLI, the console and tests."""

    def __init__(self, groups: Mapping[str, frozenset[str]] | None = None) -> None:
        self._groups = dict(groups or {})

    def members(self, group_id: str) -> frozenset[str]:
        return self._groups.get(group_id, frozenset())
