"""The one error path: user errors become clear messages, anything else an error id."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.domain.errors import UserError, new_error_id
from bot.render import common
from handlers import auditing

log = logging.getLogger("ecrbot.handlers")

Reply = Callable[[str], object]


@contextmanager
def replying(reply: Reply) -> Iterator[None]:
    """Run a listener body; a UserError or a crash is answered through `reply`, never raw."""
    try:
        yield
    except UserError as error:
        auditing.answered_with(error)
        reply(common.user_error(error))
    except Exception as error:
        error_id = log_unexpected(error)
        auditing.failed(error_id)
        reply(common.unexpected(error_id))


def log_unexpected(error: BaseException) -> str:
    """Log with a short id the user can quote; the traceback stays in the log."""
    error_id = new_error_id()
    log.error("unexpected error %s", error_id, exc_info=error)
    return error_id


def on_error(error: Exception, respond: Any = None) -> None:
    """Bolt's last resort (errors outside a listener body): log, and tell the user if we can."""
    error_id = log_unexpected(error)
    auditing.failed(error_id)  # a crash that escaped a listener (a modal's, say): not `ok`
    if respond is not None:
        try:
            respond(text=common.unexpected(error_id), response_type="ephemeral")
        except Exception:
            log.warning("could not tell the user about error %s", error_id)
