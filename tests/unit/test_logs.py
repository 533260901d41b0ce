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
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "gho_0123456789abcdefghijABCDEFGHIJ012345",
        "ghu_0123456789abcdefghijABCDEFGHIJ012345",
        "ghs_0123456789abcdefghijABCDEFGHIJ012345",
        "ghr_0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789",
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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://ecrbot:hunter2-pg@db:5432/ecrbot",
            "postgresql+psycopg://ecrbot:***@db:5432/ecrbot",
        ),
        ("redis://:s3cret-redis@redis:6379/0", "redis://:***@redis:6379/0"),
        ("https://x-access-token:ghs_abc@github.com/acme/app.git", "https://x-access-token:***@"),
    ],
)
def test_passwords_in_urls_are_masked_keeping_the_rest(url: str, shown: str) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "connecting to %s", (url,), None)
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert shown in message
    assert not any(word in message for word in ("hunter2", "s3cret", "ghs_abc"))
