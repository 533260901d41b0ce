"""How long a CVE may stay unfixed: one rule for the health report and the promotion scan gate.

The deadline runs from when the finding was first seen on the image (the push, when the scanner
does not say), and its length is the repository's risk tier's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Risk = Literal["low", "medium", "high"]

# Days to fix a CVE, by risk tier (an app with no tier is held to `low`).
FIX_DAYS: dict[Risk, int] = {"high": 7, "medium": 14, "low": 30}


def fix_days(tier: Risk | None) -> int:
    return FIX_DAYS[tier or "low"]


def due(since: datetime | None, pushed_at: datetime, tier: Risk | None) -> datetime:
    """The fix deadline of a finding first seen at `since` (None: counted from the push)."""
    return (since or pushed_at) + timedelta(days=fix_days(tier))


def basis(tier: Risk | None) -> str:
    """The rule in words, e.g. `high risk: 7 days`."""
    days = fix_days(tier)
    return f"{tier} risk: {days} days" if tier else f"no risk tier: treated as low, {days} days"
