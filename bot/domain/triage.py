"""Triage: which chat messages the bot answers, with which explanation, about which apps.

A support message is answered when it shows a known error signature (`matcher.py`, the same
matcher the push pipeline's failures use) and nothing else: no signature, no answer. The bot
never answers itself, other bots, edits or other system messages (a message with a subtype), and
answers a thread at most once (the service keeps the ledger). Which app a message is about is
read from the words the catalog knows: app names, ECR repository names, GitHub `owner/repo` and
image URIs (which contain the repository name). An image URI of another registry (account or
region) names none of ours, whatever its repository is called; and the service names only the
apps the poster may see (issue #18: naming them tells an outsider which names are ours).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.matcher import MAX_TEXT, Match, match
from bot.domain.models import AppSpec, RegistrySpec

# Slack message subtypes that are a person saying something; every other subtype (edits,
# deletions, joins, bot messages, channel topic changes...) is not a support request.
_SPOKEN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
MAX_APPS = 25  # a select holds at most 100 options; more named apps is not a real message
# A name ends where no name character follows; a `.` or `/` only continues it when a name
# character comes next (`my-app.` ends a sentence, `my-app.v2` and `acme/app` are other names).
_BEFORE = r"(?<![a-z0-9_.-])"
_AFTER = r"(?![a-z0-9_-]|[./][a-z0-9])"
_AFTER_PATH = r"(?![a-z0-9_-]|\.[a-z0-9])"  # `acme/app` in a URL: github.com/acme/app/pull/3
# An ECR image URI (lower-cased text): its account and region say whose registry it is.
_ECR_IMAGE = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]{1,12}){1,3}-[0-9])"
    r"\.amazonaws\.com(?:\.cn)?(?:/[a-z0-9._/-]{0,256})?"
)


@dataclass(frozen=True)
class ChatMessage:
    """A Slack message as triage sees it (the handler translates the event into this)."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None

    @property
    def root(self) -> str:
        """The ts of the thread this message starts or belongs to: where the answer goes."""
        return self.thread_ts or self.ts


@dataclass(frozen=True)
class TriageAnswer:
    """What the bot replies in the thread: the explanations, best first, and the apps named."""

    matches: tuple[Match, ...]
    apps: tuple[str, ...] = ()
    thread_unread: bool = False  # the app wasn't in the message and Slack refused the thread

    @property
    def signature_ids(self) -> tuple[str, ...]:
        return tuple(found.id for found in self.matches)


def spoken_by_a_person(message: ChatMessage, bot_user: str | None) -> bool:
    """Whether the message is something a person said (not an edit, a bot, or the bot)."""
    if message.subtype not in _SPOKEN_SUBTYPES or message.bot_id:
        return False
    return bool(message.user) and message.user != bot_user


def triage(text: str) -> TriageAnswer | None:
    """The known errors a message shows, or None: no signature, no answer."""
    found = match(text)
    return TriageAnswer(tuple(found)) if found else None


def apps_named(text: str, apps: Iterable[AppSpec], *, registry: RegistrySpec) -> tuple[str, ...]:
    """The catalog apps a text names (in catalog order), by any name the catalog knows; image
    URIs count only in `registry` (the catalog's account and region)."""
    scanned = _without_other_registries(text[:MAX_TEXT].lower(), registry)
    named: list[str] = []
    for app in apps:
        # Whole names only: `api` is not named by `billing-api`, nor `app` by `apple`.
        if any(re.search(pattern, scanned) for pattern in _patterns_for(app)):
            named.append(app.name)
            if len(named) == MAX_APPS:
                break
    return tuple(named)


def _without_other_registries(text: str, registry: RegistrySpec) -> str:
    """`text` with every image URI of another account or region blanked out."""

    def blank(hit: re.Match[str]) -> str:
        ours = hit["account"] == registry.account_id and hit["region"] == registry.region
        return hit[0] if ours else " " * len(hit[0])

    return _ECR_IMAGE.sub(blank, text)


def _patterns_for(app: AppSpec) -> list[str]:
    words = {app.name.lower(), app.repository.lower()} - {""}
    patterns = [rf"{_BEFORE}{re.escape(word)}{_AFTER}" for word in sorted(words)]
    if app.github:
        patterns.append(rf"{_BEFORE}{re.escape(app.github.lower())}{_AFTER_PATH}")
    return patterns
