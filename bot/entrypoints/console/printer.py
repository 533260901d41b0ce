"""What the console shows: messages rendered from their Block Kit, thread replies indented,
edits reprinted compactly, and a live line per running job for the prompt's toolbar."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from bot.entrypoints.console.slack import File, Message
from bot.render import terminal

FINAL = {"succeeded", "failed", "cancelled", "interrupted"}


@dataclass
class _Job:
    app: str
    state: str
    last: str = ""


class Printer:
    """Writes to whatever `sys.stdout` is at the time, so prompt_toolkit can keep the prompt
    below the output (patch_stdout). Thread-safe: the console Slack calls it from its threads."""

    def __init__(self, names: Mapping[str, str] | None = None, color: bool | None = None) -> None:
        self.names = dict(names or {})
        dumb = os.environ.get("TERM", "") in ("", "dumb")
        self.color = (
            color
            if color is not None
            else sys.stdout.isatty() and not dumb and "NO_COLOR" not in os.environ
        )
        self._lock = threading.Lock()
        self._shown: dict[str, str] = {}  # ts -> the text last printed for that message
        self._labels: dict[str, str] = {}  # parent ts -> "job 3" / the diagnose subject
        self._jobs: dict[int, _Job] = {}

    # -- the Sink the console Slack feeds --------------------------------------------------

    def posted(self, message: Message) -> None:
        self._track(message)
        self._message(message, edited=False)

    def updated(self, message: Message) -> None:
        self._track(message)
        self._message(message, edited=True)

    def responded(self, text: str, blocks: list[dict[str, Any]]) -> None:
        self.ephemeral(text, blocks)

    def uploaded(self, files: Sequence[File]) -> None:
        for file in files:
            label = self._labels.get(file.thread_ts or "", "")
            where = f"{label} · " if label else ""
            line = Text(f"📎 {where}{file.title}: ", style="dim")
            line.append(str(file.path), "bold")
            line.append(f" ({_size(file.size)})", "dim")
            self.write(line, "  └")

    # -- the console's own lines ----------------------------------------------------------

    def ephemeral(self, text: str, blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        """A reply only the user sees (the acknowledgement, respond(), chat.postEphemeral)."""
        body = terminal.message(text, list(blocks or []), self.names)
        self.write(body, "(only you)", "dim italic")

    def note(self, text: str, style: str = "dim") -> None:
        self.write(Text(text, style=style))

    def error(self, text: str) -> None:
        self.write(Text(text, style="bold red"))

    def toolbar(self) -> str:
        """One line per job in flight: what its progress message says now."""
        with self._lock:
            jobs = [(n, j) for n, j in sorted(self._jobs.items()) if j.state not in FINAL]
        return "  ".join(f"job {n} {j.app}: {j.last or j.state}" for n, j in jobs)

    def active_jobs(self) -> list[int]:
        with self._lock:
            return [n for n, j in self._jobs.items() if j.state not in FINAL]

    # -- rendering -------------------------------------------------------------------------

    def _track(self, message: Message) -> None:
        with self._lock:
            job = message.job
            if job.get("job_id") is not None and message.thread_ts is None:
                number = int(job["job_id"])
                self._labels[message.ts] = f"job {number}"
                known = self._jobs.setdefault(number, _Job(str(job.get("app", "")), ""))
                known.state = str(job.get("state", ""))
            elif message.thread_ts is None and message.text:
                self._labels.setdefault(message.ts, _subject(message.text))
            elif message.thread_ts is not None:
                for number, known in self._jobs.items():
                    if self._labels.get(message.thread_ts) == f"job {number}":
                        known.last = _first_line(message.text)

    def _message(self, message: Message, edited: bool) -> None:
        body = terminal.message(message.text, message.blocks, self.names)
        plain = terminal.to_plain(body)
        with self._lock:
            if self._shown.get(message.ts) == plain:
                return  # an edit that changes nothing the terminal shows
            self._shown[message.ts] = plain
            label = self._labels.get(message.thread_ts or "", "")
        mark = " ✎" if edited else ""
        if message.thread_ts is None:
            self.write(body, f"ecrbot{mark}", "bold")
        else:
            self.write(_labelled(body, f"{label} ·" if label else ""), f"  └{mark}")

    def write(self, body: RenderableType, prefix: str = "", style: str = "dim") -> None:
        """Render to text first, then write it in one go, so lines from threads never mix."""
        width = shutil.get_terminal_size((100, 24)).columns - 1
        indent = len(prefix) + 1 if prefix else 0
        head = Text(prefix, style=style) if prefix else None
        text = terminal.to_ansi(body, max(width, 40), self.color, indent, head)
        with self._lock:
            out = sys.stdout
            out.write(text)
            out.flush()


def _labelled(body: RenderableType, label: str) -> RenderableType:
    """The body with `label` (dim) in front of its first line of prose."""
    if not label:
        return body
    pieces = terminal.flatten(body)
    first = pieces[0] if pieces else None
    if isinstance(first, Text) and not isinstance(first, terminal.Code):
        pieces[0] = Text.assemble((label + " ", "dim"), first)
    else:
        pieces.insert(0, Text(label, style="dim"))
    return Group(*pieces)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return terminal.mrkdwn(line).plain[:120]


def _subject(text: str) -> str:
    plain = terminal.mrkdwn(text).plain
    if plain.startswith(("✅ Diagnose ", "❌ Diagnose ", "⚠️ Diagnose ")):
        return plain.split(" ", 2)[2].split(",")[0].split(":")[0]
    if plain.startswith("Registry health"):
        return "report"
    return ""


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
