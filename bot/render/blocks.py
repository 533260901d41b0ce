"""Small helpers over slack_sdk's block models (they validate Slack's limits)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

SECTION_LIMIT = 3000

Blocks = list[dict[str, Any]]


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_LIMIT))])


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(text=text, action_id=action_id, value=value, style=style, confirm=confirm)


def confirm(title: str, text: str, yes: str, no: str = "Keep it") -> ConfirmObject:
    """Slack's are-you-sure dialog before a button acts."""
    return ConfirmObject(title=title, text=text, confirm=yes, deny=no, style="danger")


def select(placeholder: str, action_id: str, options: list[tuple[str, str]]) -> StaticSelectElement:
    """A static select of (label, value) pairs; Slack takes at most 100 options."""
    return StaticSelectElement(
        placeholder=placeholder,
        action_id=action_id,
        options=[Option(text=label[:75], value=value) for label, value in options[:100]],
    )


def actions(
    *buttons: ButtonElement | StaticSelectElement, block_id: str | None = None
) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons), block_id=block_id)


def to_dicts(blocks: list[Block]) -> Blocks:
    return [block.to_dict() for block in blocks]


def clip(text: str, limit: int) -> str:
    """Cut text to Slack's limit, keeping the end of a code block intact."""
    if len(text) <= limit:
        return text
    closing = "\n```" if text.rstrip().endswith("```") else ""
    return text[: limit - len(closing) - 1] + "…" + closing


def code(lines: tuple[str, ...] | list[str], limit: int = 2500) -> str:
    """A code block of the last lines that fit."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        line = line.replace("```", "'''")
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "```\n" + "\n".join(reversed(kept)) + "\n```" if kept else ""
