"""Where text becomes Slack mrkdwn; every renderer goes through these functions.

Slack reads `<…>` as mentions (`<@U1>`, `<!here>`, `<!subteam^S1>`, `<#C1>`) and links
(`<https://x|label>`), even inside code, and `&`, `<` and `>` are the only characters its mrkdwn
escapes (https://api.slack.com/reference/surfaces/formatting#escaping). A backtick can't be
escaped at all: inside a code span or block it ends it, so outside text gets a look-alike instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain.text import TICK, plain

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")


def mrkdwn(message: str) -> str:
    """A domain message (plain text with `code` spans, see bot.domain.text) as mrkdwn.

    Domain text has no code blocks (those are `code_block`'s), so a fence in it came from
    outside and is broken up rather than allowed to swallow the rest of the message.
    """
    return message.translate(_SLACK).replace("```", TICK * 3)


def text(value: object, limit: int = 300) -> str:
    """An outside value as mrkdwn prose: escaped, and it can't open or close a code span."""
    return mrkdwn(plain(value, limit))


def raw(value: object, limit: int = 300) -> str:
    """An outside value where Slack shows text as given and parses no mrkdwn (a table's
    `raw_text` cell, a chart's label): one line, no control characters, bounded."""
    return plain(value, limit)


def code(value: object, limit: int = 300) -> str:
    """An outside value as an inline code span."""
    return f"`{text(value, limit) or ' '}`"


def code_block(lines: Iterable[str], limit: int = 2500, *, tail: bool = True) -> str:
    """A code block of the lines that fit in `limit` characters: the last ones (a log's tail) or,
    with `tail=False`, the first ones (a fix to paste). '' when there are none."""
    given = [mrkdwn(line.replace("`", TICK)) for line in lines]
    kept: list[str] = []
    size = 0
    for line in reversed(given) if tail else given:
        if size + len(line) + 1 > limit:
            if not kept:  # one long line: keep the part nearest the kept end
                kept.append("…" + line[-(limit - 1) :] if tail else line[: limit - 1] + "…")
            elif not tail:
                kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    if tail:
        kept.reverse()
    return "```\n" + "\n".join(kept) + "\n```" if kept else ""


def unescape(slack_text: str) -> str:
    """What a person typed, from the text Slack sends (it escapes `&`, `<` and `>`)."""
    return slack_text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention(user: str | None) -> str:
    """`<@U123>` for a Slack user id; anything else is shown as text, never as a mention."""
    if user and USER_ID.fullmatch(user):
        return f"<@{user}>"
    return text(user or "someone")


def principal(who: str | None) -> str:
    """A catalog principal: a user (`<@U…>`), a user group (`<!subteam^S…>`), or text."""
    if who and GROUP_ID.fullmatch(who):
        return f"<!subteam^{who}>"
    return mention(who) if who and USER_ID.fullmatch(who) else text(who or "no owner")


def channel(channel_id: str) -> str:
    """`<#C123>` for a channel id; anything else as text."""
    return f"<#{channel_id}>" if CHANNEL_ID.fullmatch(channel_id) else text(channel_id)
