"""A failed step explained: its raw error text through the shared signature catalogue
(`signatures.py`, matched by `matcher.py`, as triage does), or in general words when unknown."""

from __future__ import annotations

from bot.domain.matcher import first_match
from bot.domain.models import Failure, Step
from bot.domain.signatures import BY_ID, RUNBOOK
from bot.domain.text import plain

__all__ = ["GENERIC_FIX", "RUNBOOK", "explain", "token_expired"]


def token_expired(raw: str) -> bool:
    """Whether the registry refused a login token for being too old (a new one will do)."""
    return BY_ID["token_expired"].pattern.search(raw) is not None


GENERIC_FIX = f"Check the log lines below; the runbook is {RUNBOOK}. Ask #platform-team if stuck."


def explain(step: Step | None, raw: str, log_tail: tuple[str, ...] = ()) -> Failure:
    """Turn raw error text from a step into a Failure with plain words and a fix."""
    known = first_match(raw, known_failure=True)  # the same words triage gives for this text
    if known:
        return Failure(step, known.title, known.explanation, known.fix, log_tail)
    first_line = plain(raw.strip().splitlines()[0]) if raw.strip() else "no detail given"
    where = f"The {step.value} step" if step else "The job"
    return Failure(step, f"{where} failed", first_line, GENERIC_FIX, log_tail)
