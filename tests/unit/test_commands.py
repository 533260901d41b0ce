"""The /ecr command language."""

from __future__ import annotations

import pytest

from bot.domain import commands as cmd
from bot.domain.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("push my-app 1A2B3C4 1.4.0", cmd.Push("my-app", "1a2b3c4", "1.4.0")),
        ("push my-app 1a2b3c4", cmd.Push("my-app", "1a2b3c4", None)),
        ("  PUSH   my-app   1a2b3c4  ", cmd.Push("my-app", "1a2b3c4", None)),
        ("jobs", cmd.Jobs()),
        ("cancel 42", cmd.Cancel(42)),
        ("cancel #42", cmd.Cancel(42)),
        ("", cmd.Help()),
        ("help", cmd.Help()),
    ],
)
def test_parse(text: str, expected: cmd.Command) -> None:
    assert cmd.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("push", "`push` takes 2 to 3 arguments"),
        ("push a b c d", "`push` takes 2 to 3 arguments"),
        ("cancel", "`cancel` takes 1 argument"),
        ("cancel forty-two", "is not a job number"),
        ("jobs please", "`jobs` takes no arguments"),
        ("deploy", "`deploy` is not an /ecr command"),
        ('push "unterminated', "Could not read that"),
    ],
)
def test_usage_errors_say_what_and_how(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        cmd.parse(text)
    assert message in caught.value.message
    assert "Usage" in caught.value.next_step
