"""Triage and outsiders (issue #18): an answer names only the apps its poster may see, an image
URI of another account or region names none of ours, and chatter that quotes an error is not a
paste of one while a real paste that quotes it still is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.adapters.slack_directory import StaticDirectory
from bot.adapters.slack_events import MemoryEventLedger
from bot.domain.access import Access, Action
from bot.domain.matcher import match
from bot.domain.models import AppSpec, RegistrySpec
from bot.domain.read_limits import ThreadContext
from bot.domain.triage import ChatMessage, TriageAnswer, apps_named
from bot.services.triage import TriageService

OURS = RegistrySpec("123456789012", "eu-west-2")
BILLING = AppSpec("billing", "git@x:acme/billing.git", "acme/billing-api", github="acme/billing")
PAYROLL = AppSpec("payroll", "git@x:acme/payroll.git", "payroll", pushers=("U0BOB",))
ADMIN, BOB, OUTSIDER = "U0ADMIN", "U0BOB", "U0EVE"
ERROR = "Error response from daemon: no basic auth credentials\n"


def test_an_image_uri_counts_only_in_the_catalogs_account_and_region() -> None:
    ours = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/acme/billing-api:1.0"
    assert apps_named(f"docker push {ours}", [BILLING], registry=OURS) == ("billing",)
    for other in (
        "999999999999.dkr.ecr.eu-west-2.amazonaws.com/acme/billing-api:1.0",  # another account
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/billing-api:1.0",  # another region
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/acme/billing-api",
    ):
        assert apps_named(f"docker push {other}", [BILLING], registry=OURS) == (), other
    # Our name said in words is still ours, beside a foreign URI.
    both = "billing: 999999999999.dkr.ecr.eu-west-2.amazonaws.com/payroll:1"
    assert apps_named(both, [BILLING, PAYROLL], registry=OURS) == ("billing",)


class Replies:
    def __init__(self, thread: str = "") -> None:
        self.thread = thread
        self.answers: list[TriageAnswer] = []

    def thread_text(self, channel: str, thread_ts: str) -> ThreadContext:
        return ThreadContext(self.thread)

    def answer(self, channel: str, thread_ts: str, answer: TriageAnswer) -> None:
        self.answers.append(answer)


class Inline:
    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        work(*args)


def service(replies: Replies) -> TriageService:
    access = Access((ADMIN,), StaticDirectory())
    return TriageService(
        lambda: [BILLING, PAYROLL],
        ("C0SUPPORT",),
        MemoryEventLedger(),
        replies,
        Inline(),  # type: ignore[arg-type]
        registry=OURS,
        may_see=lambda user, app: access.allows(user, Action.DIAGNOSE, app),
    )


def answered(user: str, text: str, thread: str = "") -> TriageAnswer:
    replies = Replies(thread)
    message = ChatMessage("C0SUPPORT", f"1.{len(text)}", text, user, thread_ts="1.0")
    assert service(replies).accept(f"Ev{user}", message, bot_user="U0BOT", mentioned=False)
    (answer,) = replies.answers
    return answer


def test_an_answer_names_only_the_apps_its_poster_may_see() -> None:
    said = ERROR + "pushing acme/billing-api and payroll"
    assert answered(ADMIN, said).apps == ("billing", "payroll")
    assert answered(BOB, said).apps == ("payroll",)
    outsider = answered(OUTSIDER, said)
    assert outsider.apps == () and outsider.signature_ids == ("no_basic_auth",)
    # Nor through the thread's earlier messages, nor a GitHub name mapped to an app name.
    assert answered(OUTSIDER, ERROR, thread="about acme/billing").apps == ()
    assert answered(ADMIN, ERROR, thread="about acme/billing").apps == ("billing",)


def test_a_real_paste_that_quotes_its_error_is_still_answered() -> None:
    asked = "my push broke, when I run it it says:\nError: no basic auth credentials"
    assert [m.id for m in match(asked)] == ["no_basic_auth"]
    one_line_log = "Error: Incorrect token audience"
    assert [m.id for m in match(one_line_log)] == ["incorrect_token_audience"]
    pasted = (
        "PSA for the runners:\n```\ntoomanyrequests: You have reached your pull rate limit\n```"
    )
    assert [m.id for m in match(pasted)] == ["rate_limited"]
