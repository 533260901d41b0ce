"""Typing at a program under a pseudo-terminal as a person would."""

from __future__ import annotations

import termios
import time

import pexpect


def eof_at_prompt(child: pexpect.spawn) -> None:
    """Ctrl-D once the prompt is reading again, as a person would press it.

    While bot output is printed above the prompt, prompt_toolkit puts the terminal back in
    cooked mode for a moment; a Ctrl-D typed then is the line discipline's end-of-file for a
    reader that isn't there, and is lost. Wait for raw mode (ICANON off) to hold, then press it.
    """
    deadline = time.monotonic() + 10
    steady_since: float | None = None
    while time.monotonic() < deadline:
        raw = not termios.tcgetattr(child.child_fd)[3] & termios.ICANON
        now = time.monotonic()
        steady_since = (steady_since or now) if raw else None
        if steady_since is not None and now - steady_since >= 0.3:
            break
        time.sleep(0.05)
    child.sendeof()
