"""The process's role sessions (every per-person AWS call goes through one), in a module of its
own: `ecrbot promote` needs them and none of `parts.py`'s diagnose and report imports."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.adapters.aws_sessions import RoleSessions

_SESSIONS: dict[str | None, RoleSessions] = {}
_SESSIONS_GUARD = threading.Lock()


def role_sessions(settings: Settings) -> RoleSessions:
    """Role sessions over the bot's own credentials: every per-person AWS call goes through
    one (`bot.domain.on_behalf` says for whom). One per process (and AWS endpoint), made on
    first use: a diagnose of an app with no registry roles never pays for one."""
    from bot.adapters.aws_sessions import RoleSessions

    with _SESSIONS_GUARD:
        found = _SESSIONS.get(settings.aws_endpoint_url)
        if found is None:
            found = _SESSIONS[settings.aws_endpoint_url] = RoleSessions(
                endpoint_url=settings.aws_endpoint_url
            )
        return found
