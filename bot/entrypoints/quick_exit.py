"""The `ecrbot` program's exit, without the interpreter's teardown.

Once a command is done, tearing down the modules it loaded (boto3's service models, docker,
pydantic) took 0.2-0.45 s of `ecrbot push` on a 2-core CI runner (strace: nothing but munmap
between the last atexit handler and exit_group). Everything a command can still owe the world
is done first: the streams are flushed, logging is shut down and the atexit handlers run
(tempfile's finalizers among them). A thread still at work gets the interpreter's own exit,
which waits for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

# What CPython exits with when flushing stdout fails at exit (a closed pipe: `ecrbot ... | head`).
FLUSH_FAILED = 120
GRACE_S = 0.1  # for threads told to stop to end (idle pool threads take milliseconds)


def exit_now(
    code: int,
    *,
    streams: Callable[[], Sequence[TextIO]] = lambda: (sys.stdout, sys.stderr),
    handlers: Callable[[], None] = atexit._run_exitfuncs,
    end: Callable[[int], NoReturn] = os._exit,
    busy: Callable[[], bool] | None = None,
) -> NoReturn:
    """End the process with `code` (tests pass the streams, the handlers and the end)."""
    if (busy or _threads_at_work)():
        raise SystemExit(code)
    handlers()
    logging.shutdown()
    for stream in streams():
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            code = code or FLUSH_FAILED
    end(code)


def _threads_at_work(grace_s: float = GRACE_S) -> bool:
    """A non-daemon thread other than this one is still alive after `grace_s`: the
    interpreter would wait for it. A command's pools were shut down a moment ago (their
    threads are told to stop, not waited for), and their idle threads end within the grace:
    without it, every `ecrbot diagnose` found its 19 pool threads alive and paid for the
    interpreter's teardown (0.1 s of CPU)."""
    here = threading.current_thread()
    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread is not here and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    return any(t is not here and t.is_alive() and not t.daemon for t in threading.enumerate())
