"""Locks shown: what `/ecr lock`, `/ecr unlock` and `/ecr locks` answer."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.locks import Lock
from bot.render.blocks import SECTION_LIMIT, Blocks, context, section, to_dicts
from bot.render.escape import code, mention, text

MAX_SHOWN = 40  # locks listed in one answer; a platform with more has a different problem


def _when(lock: Lock) -> str:
    return lock.locked_at.strftime("%Y-%m-%d %H:%M UTC")


def locked(lock: Lock, mine: bool) -> str:
    """The answer to `/ecr lock`: the new lock, or the one already there."""
    what = "Pushes and promotions" if lock.environment is None else "Promotions"
    head = (
        f":lock: {code(lock.target, 120)} locked"
        if mine
        else (
            f":lock: {code(lock.target, 120)} was already locked by {mention(lock.locked_by)} "
            f"at {_when(lock)}"
        )
    )
    return f"{head}: {text(lock.reason)}. {what} are refused until `/ecr unlock`."


def unlocked(lock: Lock) -> str:
    """The answer to `/ecr unlock`: which lock was lifted, and whose it was."""
    return (
        f":unlock: {code(lock.target, 120)} unlocked (locked by {mention(lock.locked_by)} "
        f"at {_when(lock)}: {text(lock.reason)})."
    )


def headline(locks: list[Lock]) -> str:
    return f"{len(locks)} lock(s)" if locks else "No locks"


def line(lock: Lock) -> str:
    """One lock: what, why, who and when."""
    return (
        f"• {code(lock.target, 120)}: {text(lock.reason)} ({mention(lock.locked_by)}, "
        f"{_when(lock)})"
    )


def slack_blocks(locks: list[Lock]) -> Blocks:
    """`/ecr locks`: one line per lock, oldest first."""
    if not locks:
        return to_dicts([section("*Locks*: none. Every app may be pushed and promoted.")])
    lines = [line(lock) for lock in locks[:MAX_SHOWN]]
    sections: list[str] = []
    for one in lines:
        if sections and len(sections[-1]) + len(one) + 1 <= SECTION_LIMIT:
            sections[-1] += "\n" + one
        else:
            sections.append(one)
    blocks: list[Block] = [section(f"*Locks* ({len(locks)})"), *(section(s) for s in sections)]
    if len(locks) > MAX_SHOWN:
        blocks.append(context(f"{len(locks) - MAX_SHOWN} more not shown."))
    return to_dicts(blocks)
