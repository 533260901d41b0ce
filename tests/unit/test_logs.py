"""Secrets never reach the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.runtime.logs import RedactSecrets, configure


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


@pytest.mark.parametrize("style", ["text", "json"])
def test_a_traceback_carrying_a_token_is_masked_in_both_formats(style: str, tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure("INFO", style, log_file)
    try:
        try:
            raise RuntimeError("Slack said invalid_auth for xoxb-123456789012-abcdefABCDEF")
        except RuntimeError:
            logging.getLogger("ecrbot.test").exception("the call failed")
        for handler in root.handlers:
            handler.flush()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    written = log_file.read_text()
    assert "the call failed" in written and "RuntimeError" in written
    assert "xoxb-123456789012" not in written and "***" in written
