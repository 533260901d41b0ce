"""Domain messages are plain text with inline `code` spans, the one markup Slack and a terminal
share.

A value from outside (a user, a repository, a build, AWS) enters a message only through `code()`
or `plain()`, so it can never open or close a span of the message around it. Slack's own escaping
(`&`, `<`, `>`) is the render layer's job (`bot/render/escape.py`), applied to every message.
"""

from __future__ import annotations

import re

# U+02CB MODIFIER LETTER GRAVE ACCENT looks like a backtick but never ends a code span.
TICK = "\u02cb"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # NUL and other control characters, shown as �
MAX_VALUE = 300  # characters of one outside value shown in a message


def plain(value: object, limit: int = MAX_VALUE) -> str:
    """An outside value as prose: backticks neutralised, one line, at most `limit` characters."""
    text = " ".join(str(value).split()) if "\n" in str(value) else str(value)
    text = _CONTROL.sub("\ufffd", text).replace("`", TICK)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(value: object, limit: int = MAX_VALUE) -> str:
    """An outside value as an inline code span."""
    return f"`{plain(value, limit) or ' '}`"
