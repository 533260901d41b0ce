"""Thread reads within Slack's read limits: the brief cache, the closed window, and the adapter
against the Slack stand-in in both tiers (internal: Tier 3; distributed outside the Marketplace:
1 read a minute, at most 15 messages)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_triage import THREAD_MESSAGES, SlackTriageReplies
from bot.domain.read_limits import (
    DEFAULT_RETRY_AFTER_S,
    RATE_LIMITED,
    REFUSED,
    ReadWindow,
    ThreadCache,
    parse_retry_after,
)
from tests.standins.slack_api import DEFAULT_CHANNEL, DISTRIBUTED, SlackStandIn


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_forgets_a_thread_after_its_ttl() -> None:
    clock = Clock()
    cache = ThreadCache(size=4, ttl_s=120, clock=clock)
    cache.put(("C1", "1.1"), "about billing")
    clock.now += 119
    assert cache.get(("C1", "1.1")) == "about billing"
    clock.now += 1
    assert cache.get(("C1", "1.1")) is None and len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = ThreadCache(size=2, ttl_s=60, clock=Clock())
    cache.put(("C1", "1"), "one")
    cache.put(("C1", "2"), "two")
    assert cache.get(("C1", "1")) == "one"  # now the most recent
    cache.put(("C1", "3"), "three")
    assert cache.get(("C1", "2")) is None
    assert cache.get(("C1", "1")) == "one" and cache.get(("C1", "3")) == "three"
    assert len(cache) == 2


def test_the_window_stays_closed_for_retry_after_then_opens() -> None:
    clock = Clock()
    window = ReadWindow(clock)
    assert window.is_open()
    assert window.close("30") == 30
    clock.now += 29.9
    assert not window.is_open() and 0 < window.reopens_in() <= 0.1
    window.close("0")  # a shorter wait never reopens it early
    assert not window.is_open()
    clock.now += 0.1
    assert window.is_open()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (None, DEFAULT_RETRY_AFTER_S), ("soon", DEFAULT_RETRY_AFTER_S), ("-3", 60.0)],
)
def test_retry_after_is_read_as_seconds_or_a_minute(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header) == seconds
    assert parse_retry_after("999999") == 3600.0


# -- the adapter against the stand-in ------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def replies(slack: SlackStandIn) -> SlackTriageReplies:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, retry_handlers=[])
    return SlackTriageReplies(client, SlackOutbox())


def thread(slack: SlackStandIn, replies_count: int) -> str:
    root = slack.add_message(DEFAULT_CHANNEL, "billing deploys are failing", user="U0ALICE")
    for n in range(replies_count):
        slack.add_message(DEFAULT_CHANNEL, f"reply {n}", user="U0BOB", thread_ts=root)
    return root


def test_a_thread_is_read_once_with_limit_15_and_then_served_from_the_cache(
    slack: SlackStandIn,
) -> None:
    slack.set_read_tier(DISTRIBUTED)
    root = thread(slack, 30)
    reader = replies(slack)
    first = reader.thread_text(DEFAULT_CHANNEL, root)
    again = [reader.thread_text(DEFAULT_CHANNEL, root) for _ in range(4)]
    assert first.read and "billing" in first.text
    assert all(r == first for r in again)
    (call,) = slack.calls("conversations.replies")
    assert int(call.params["limit"]) == THREAD_MESSAGES <= 15
    assert len(call.response["messages"]) == 15 and call.response["has_more"]


def test_a_refused_read_closes_the_window_and_no_read_is_tried_while_it_is_closed(
    slack: SlackStandIn,
) -> None:
    slack.set_read_tier(DISTRIBUTED)
    one, two, three = thread(slack, 1), thread(slack, 1), thread(slack, 1)
    reader = replies(slack)
    assert reader.thread_text(DEFAULT_CHANNEL, one).read
    started = time.monotonic()
    refused = reader.thread_text(DEFAULT_CHANNEL, two)  # Slack: 429, Retry-After ~60
    assert refused.unread == RATE_LIMITED and not refused.text
    assert reader.thread_text(DEFAULT_CHANNEL, three).unread == RATE_LIMITED  # no call at all
    assert time.monotonic() - started < 5  # never waited the minute out
    statuses = [c.status for c in slack.calls("conversations.replies")]
    assert statuses == [200, 429]
    assert 55 <= reader.window.reopens_in() <= 60


def test_the_internal_tier_reads_every_thread(slack: SlackStandIn) -> None:
    reader = replies(slack)
    roots = [thread(slack, 20) for _ in range(5)]
    assert all(reader.thread_text(DEFAULT_CHANNEL, r).read for r in roots)
    assert slack.count("conversations.replies", 200) == 5


def test_a_read_slack_refuses_for_another_reason_is_said_and_not_cached(
    slack: SlackStandIn,
) -> None:
    reader = replies(slack)
    gone = reader.thread_text(DEFAULT_CHANNEL, "1790000999.000001")  # thread_not_found
    assert gone.unread == REFUSED
    assert reader.window.is_open() and len(reader.cache) == 0
