"""Pipeline progress in a terminal: the script's output lines, plus a progress bar on a TTY."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from bot.domain.models import ProgressEvent, Step

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class TerminalProgress:
    """Prints one line per milestone; a TTY also gets a bar for build steps and layer bytes."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self._out = out
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if _may_be_terminal(err):
            # rich only for a bar: in CI (no TTY) it is 0.06 s of imports for nothing.
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            console = Console(file=err)
            if console.is_terminal:
                self._progress = Progress(
                    TextColumn("{task.description}"), BarColumn(), console=console
                )

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind in ("started", "finished", "warning"):
            self._stop_bar()
            prefix = "WARNING: " if event.kind == "warning" else "==> "
            print(prefix + event.message, file=self._out, flush=True)
            return
        if self._progress is None:
            return
        if event.step is Step.BUILD and event.build_step:
            current, total = event.build_step
            self._bar(f"build step {current}/{total}", current, total)
        elif event.step is Step.PUSH and event.layers:
            sent = sum(layer.total if layer.done else layer.current for layer in event.layers)
            total = sum(max(layer.total, layer.current) for layer in event.layers)
            self._bar("push", sent, max(total, 1))

    def close(self) -> None:
        self._stop_bar()

    def _bar(self, description: str, completed: int, total: int) -> None:
        assert self._progress is not None
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(description, total=total)
        self._progress.update(self._task, description=description, completed=completed, total=total)

    def _stop_bar(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.stop()
            self._progress.remove_task(self._task)
            self._task = None


def _may_be_terminal(stream: TextIO) -> bool:
    """What rich's `Console.is_terminal` could answer True for: a TTY, or the variables that
    force one (TTY_COMPATIBLE=1, a non-empty FORCE_COLOR, https://force-color.org/)."""
    if os.environ.get("TTY_COMPATIBLE") == "0":
        return False
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
