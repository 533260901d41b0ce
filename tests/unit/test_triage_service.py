"""Triage says what became of every message it is handed, answered or not."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from bot.adapters.slack_events import MemoryEventLedger
from bot.domain.models import RegistrySpec
from bot.domain.read_limits import ThreadContext
from bot.domain.triage import ChatMessage, TriageAnswer
from bot.services.triage import TriageService

ERROR = "Error: no basic auth credentials"


class Inline(Executor):
    """Runs each task at once, so each outcome is known when `accept` returns."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(fn(*args, **kwargs))
        return done


class Replies:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str]] = []

    def thread_text(self, channel: str, thread_ts: str) -> ThreadContext:
        return ThreadContext()

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        self.answers.append((channel, thread_ts))


def test_every_message_handed_over_is_counted_once_with_its_outcome() -> None:
    outcomes: list[str] = []
    replies = Replies()
    service = TriageService(
        lambda: [],
        ("C0SUPPORT",),
        MemoryEventLedger(),
        replies,
        Inline(),
        registry=RegistrySpec("123456789012", "eu-west-2"),
        may_see=lambda user, app: True,
        looked_at=outcomes.append,
    )
    said = ChatMessage("C0SUPPORT", "1.1", ERROR, user="U0ALICE")
    service.accept("Ev1", said, bot_user="U0BOT", mentioned=False)
    service.accept("Ev1", said, bot_user="U0BOT", mentioned=False)  # Slack's retry
    service.accept("Ev2", said, bot_user="U0BOT", mentioned=True)  # the same as a mention
    service.accept(
        "Ev3",
        ChatMessage("C0SUPPORT", "1.2", ERROR, "U0BOB", "1.1"),
        bot_user="U0BOT",
        mentioned=False,
    )
    service.accept(
        "Ev4", ChatMessage("C0SUPPORT", "1.3", "lunch?", "U0BOB"), bot_user="U0BOT", mentioned=False
    )
    service.accept(
        "Ev5", ChatMessage("C0RANDOM", "1.4", ERROR, "U0BOB"), bot_user="U0BOT", mentioned=False
    )
    assert outcomes == [
        "answered",
        "retried_event",
        "thread_answered",
        "thread_answered",
        "no_match",
        "not_for_triage",
    ]
    assert replies.answers == [("C0SUPPORT", "1.1")]
