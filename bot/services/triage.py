"""Support requests in the channel: answer known errors in their thread, once, off the ack path.

Slack wants every event acknowledged within 3 s and retries it otherwise, so `accept` only
filters (cheap, no I/O) and hands the message to a pool. There the matcher decides; only a
match touches the database: the event id (a retry of a delivered event is dropped, across
restarts and replicas) and the thread's one answer are claimed *before* posting, so a crash
between the two loses an answer rather than posting it twice: noise is the worse failure here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor

from bot.domain.models import AppSpec, RegistrySpec
from bot.domain.ports import EventLedger, TriageReplies
from bot.domain.read_limits import ThreadContext
from bot.domain.triage import ChatMessage, TriageAnswer, apps_named, spoken_by_a_person, triage

log = logging.getLogger(__name__)

# (the message, the answer given) for the audit log; never raises
Answered = Callable[[ChatMessage, TriageAnswer], None]
# What became of each message handed to `accept` (the metrics count it; tests wait on it to
# know a message was looked at and left unanswered, rather than sleeping):
# not_for_triage, no_match, retried_event, thread_answered, answered, failed
LookedAt = Callable[[str], None]
# Whether a user may be told an app exists and what it is called (the diagnose rule).
MaySee = Callable[[str, AppSpec], bool]


class TriageService:
    def __init__(
        self,
        apps: Callable[[], Iterable[AppSpec]],
        channels: tuple[str, ...],
        ledger: EventLedger,
        replies: TriageReplies,
        pool: Executor,
        *,
        registry: RegistrySpec,
        may_see: MaySee,
        answered: Answered = lambda message, answer: None,
        looked_at: LookedAt = lambda outcome: None,
    ) -> None:
        self._apps = apps
        self._registry = registry
        self._may_see = may_see
        self._channels = frozenset(channels)
        self._ledger = ledger
        self._replies = replies
        self._pool = pool
        self._answered = answered
        self._looked_at = looked_at

    def accept(
        self, event_id: str, message: ChatMessage, *, bot_user: str | None, mentioned: bool
    ) -> bool:
        """Take a message event (on the ack path): True when it is looked at in the background.

        `mentioned`: the event is an `app_mention`, answered in any channel the bot is in;
        plain messages only in the support channels.
        """
        if not spoken_by_a_person(message, bot_user) or (
            not mentioned and message.channel not in self._channels
        ):
            self._looked_at("not_for_triage")
            return False
        self._pool.submit(self._look_at, event_id, message)
        return True

    def _look_at(self, event_id: str, message: ChatMessage) -> None:
        try:
            outcome = self._answer(event_id, message)
        except Exception:  # one message's trouble never stops the next one's answer
            log.exception("triage of a message in %s failed", message.channel)
            outcome = "failed"
        self._looked_at(outcome)

    def _answer(self, event_id: str, message: ChatMessage) -> str:
        answer = triage(message.text)
        if answer is None:
            return "no_match"
        if not self._ledger.first_time(event_id):
            return "retried_event"
        if not self._ledger.claim_thread(message.channel, message.root):
            return "thread_answered"
        apps, thread = self._apps_and_thread(message, message.user)
        answer = TriageAnswer(answer.matches, apps, thread_unread=not thread.read)
        self._replies.answer(message.channel, message.root, answer)
        self._answered(message, answer)
        return "answered"

    def apps_in(self, message: ChatMessage, viewer: str | None) -> tuple[str, ...]:
        """The catalog apps a message names, or else its thread does: only those `viewer` may
        see (for anyone else, an answer naming them says which names are catalog apps)."""
        return self._apps_and_thread(message, viewer)[0]

    def _apps_and_thread(
        self, message: ChatMessage, viewer: str | None
    ) -> tuple[tuple[str, ...], ThreadContext]:
        """The apps named, and whether the thread was read when it had to be. The event's own
        text comes first: a message that names an app costs no read (Slack allows an app
        distributed outside the Marketplace one a minute)."""
        unneeded = ThreadContext()
        if not viewer:
            return (), unneeded
        apps = [app for app in self._apps() if self._may_see(viewer, app)]
        if not apps:
            return (), unneeded  # and no thread read for nothing
        named = apps_named(message.text, apps, registry=self._registry)
        if named or message.thread_ts is None:
            return named, unneeded
        # A reply that doesn't say which app: the thread it belongs to may (read at most once
        # while fresh, never while Slack says to wait: see bot/domain/read_limits.py).
        thread = self._replies.thread_text(message.channel, message.root)
        return apps_named(thread.text, apps, registry=self._registry), thread
