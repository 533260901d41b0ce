"""Secrets never reach the log."""

from __future__ import annotations

import logging

import pytest

from bot.logs import RedactSecrets


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-123456789012-abcdefABCDEF",
        "xapp-1-A0TEST-123-abcdef",
        "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu",
        "Authorization: Bearer xyz-secret",
        "'X-Registry-Auth': 'eyJ1c2VybmFtZSI6IkFXUyJ9'",
    ],
)
def test_token_shaped_strings_are_masked(secret: str) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sent %s to Slack", (secret,), None)
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "***" in message
    assert secret.split()[-1].strip("'") not in message
