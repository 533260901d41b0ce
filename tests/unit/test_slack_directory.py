"""The user-group cache (issue #18, medium 5): Slack's directory is read off the request path.

A request only reads memory; a group with no fresh answer costs one call at a time, never
while Slack has asked for a pause, and a 429 is an answer, not a reason to sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.adapters.slack_directory import (
    CACHE_TTL_S,
    FIRST_ROUND,
    REFRESH_AFTER_S,
    SlackDirectory,
)
from bot.config_catalog import Catalog
from bot.domain.access import Access
from tests.fakes import app_spec

ALICE, BOB = "U0ALICE", "U0BOB"


def _refused(status: int, error: str, headers: dict[str, Any]) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="usergroups.users.list",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers,
        status_code=status,
    )
    return SlackApiError(error, response)  # type: ignore[no-untyped-call]


class Groups:
    """usergroups.users.list as Slack answers it: members, a 429, or slowly."""

    def __init__(self, members: dict[str, list[str]] | None = None) -> None:
        self.members = members or {}
        self.limited = False
        self.delay = 0.0
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        with self._lock:
            self.asked.append(usergroup)
        time.sleep(self.delay)
        if self.limited:
            raise _refused(429, "ratelimited", {"retry-after": ["30"]})
        return {"ok": True, "users": self.members.get(usergroup, [])}


def test_a_429_is_not_slept_through_and_pauses_every_other_miss() -> None:
    now = [0.0]
    groups = Groups()
    groups.limited = True
    catalog = [f"S{i:03d}" for i in range(40)]
    directory = SlackDirectory(groups, lambda: catalog, clock=lambda: now[0])  # type: ignore[arg-type]
    access = Access(("S999",), directory)
    apps = [app_spec(name=f"app-{i}", pushers=(g,)) for i, g in enumerate(catalog)]

    started = time.monotonic()
    assert access.visible_apps(ALICE, apps) == []  # what `/ecr push no-such-app` asks
    assert time.monotonic() - started < 0.5
    assert len(groups.asked) == 1  # the first 429 pauses the other 40 misses
    now[0] = 29.0
    assert access.visible_apps(ALICE, apps) == [] and len(groups.asked) == 1
    groups.limited = False
    groups.members = {"S003": [ALICE]}
    now[0] = 31.0  # Retry-After (30 s) has passed
    assert access.visible_apps(ALICE, apps) == ["app-3"]


def test_concurrent_misses_of_one_group_make_one_call() -> None:
    groups = Groups({"S0APPTEAM": [ALICE]})
    groups.delay = 0.3
    directory = SlackDirectory(groups)  # type: ignore[arg-type]
    answers: list[frozenset[str]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(directory.members("S0APPTEAM")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [frozenset({ALICE})] * 8
    assert groups.asked == ["S0APPTEAM"]


def warm(directory: SlackDirectory) -> bool:
    return directory.warmed  # read afresh each time (mypy would narrow the property)


def test_the_refresher_reads_every_catalog_group_first_in_a_round_then_one_per_spacing() -> None:
    now = [0.0]
    groups = Groups({"S1": [ALICE], "S2": [BOB]})
    directory = SlackDirectory(groups, lambda: ["S2", "S1"], clock=lambda: now[0])  # type: ignore[arg-type]
    assert not warm(directory)
    assert directory.refresh_next() == 0.0  # the first round: no pause before the next
    assert not warm(directory)
    assert directory.refresh_next() == 3.0  # then Tier 2: 20 a minute
    assert warm(directory)
    assert groups.asked == ["S2", "S1"]  # in the catalog's order (its admins come first)
    assert directory.refresh_next() == REFRESH_AFTER_S  # nothing due: wait
    assert directory.members("S1") == {ALICE} and len(groups.asked) == 2  # memory only
    now[0] = REFRESH_AFTER_S
    assert directory.refresh_next() == 3.0
    assert len(groups.asked) == 3


def test_the_first_round_is_bounded_and_ends_when_slack_says_wait() -> None:
    catalog = [f"S{i:03d}" for i in range(3 * FIRST_ROUND)]
    groups = Groups()
    directory = SlackDirectory(groups, lambda: catalog)  # type: ignore[arg-type]
    waits = [directory.refresh_next() for _ in range(FIRST_ROUND)]
    assert waits == [0.0] * (FIRST_ROUND - 1) + [3.0]  # then paced: the rest come later
    assert directory.warmed and len(groups.asked) == FIRST_ROUND
    limited = Groups()
    limited.limited = True
    directory = SlackDirectory(limited, lambda: catalog)  # type: ignore[arg-type]
    directory.refresh_next()
    assert directory.warmed and limited.asked == ["S000"]  # a 429: ready, misses fail closed


def test_catalog_user_groups_list_the_admins_first() -> None:
    catalog = Catalog.model_validate(
        {
            "registry": {"account_id": "123456789012", "region": "eu-west-2"},
            "slack": {"channel": "C1", "admins": ["S9ADMIN"]},
            "apps": {"a": {"source": "/src", "pushers": ["S1TEAM", "U0ALICE", "S9ADMIN"]}},
        }
    )
    assert catalog.user_groups() == ["S9ADMIN", "S1TEAM"]


def test_the_refresher_waits_out_retry_after() -> None:
    now = [0.0]
    groups = Groups()
    groups.limited = True
    directory = SlackDirectory(groups, lambda: ["S1"], clock=lambda: now[0])  # type: ignore[arg-type]
    directory.refresh_next()
    assert directory.refresh_next() == 30.0 and len(groups.asked) == 1


def test_a_removal_event_applies_at_once_and_events_never_make_an_answer_fresher() -> None:
    now = [0.0]
    groups = Groups({"S1": [ALICE, BOB]})
    directory = SlackDirectory(groups, lambda: ["S1"], clock=lambda: now[0])  # type: ignore[arg-type]
    directory.refresh_next()
    directory.apply_event(
        {"type": "subteam_members_changed", "subteam_id": "S1", "removed_users": [BOB]}
    )
    assert directory.members("S1") == {ALICE}
    directory.apply_event(
        {"type": "subteam_updated", "subteam": {"id": "S1", "users": [BOB], "user_count": 1}}
    )
    assert directory.members("S1") == {BOB}
    # A truncated list (user_count above it) only takes members away.
    directory.apply_event(
        {"type": "subteam_updated", "subteam": {"id": "S1", "users": [ALICE], "user_count": 900}}
    )
    assert directory.members("S1") == frozenset()
    groups.members = {"S1": [ALICE]}
    assert directory.refresh_next() == 3.0 and groups.asked[-1] == "S1"  # changed: read first
    now[0] = CACHE_TTL_S + 1  # no refresh since: fail closed, then one call
    groups.limited = True
    assert directory.members("S1") == frozenset()
