"""Block Kit in a terminal: the console shows the very blocks Slack is sent, rendered with rich.

Slack's mrkdwn becomes styled text: *bold*, _italic_, ~strike~, `code` and ```code blocks```,
<@U…> mentions as @name, <#C…|name> as #name, links as their label, :emoji: codes as emoji.
Buttons can't be clicked in a terminal, so each one shows the console command that does the same.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.emoji import Emoji
from rich.rule import Rule
from rich.text import Text

from bot.render.ids import ActionId

Block = Mapping[str, Any]
Names = Mapping[str, str]

# What a button's click does, as a console command ({value} is the button's value).
BUTTON_COMMANDS = {
    ActionId.RETRY.value: "retry {value}",
    ActionId.CANCEL.value: "cancel {value}",
    ActionId.DIAGNOSE.value: "diagnose {value}",
}
CODE_STYLE = "cyan"
CODE_INDENT = "    "
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\*(?P<bold>[^*\n]+)\*"
    r"|(?<!\w)_(?P<italic>[^_\n]+)_(?!\w)"
    r"|~(?P<strike>[^~\n]+)~"
    r"|<(?P<link>[^<>\n]+)>"
)
_STYLES = {"bold": "bold", "italic": "italic", "strike": "strike"}


class Code(Text):
    """A code block: never wrapped, so what the terminal shows can be pasted as it is."""


def mrkdwn(text: str, names: Names | None = None, style: str = "") -> Text:
    """Slack mrkdwn as one styled text (code blocks indented in it)."""
    out = Text(style=style)
    for part in _parts(text, names or {}, style):
        if out.plain and not out.plain.endswith("\n"):
            out.append("\n")
        out.append_text(part)
    return out


def mrkdwn_block(text: str, names: Names | None = None, style: str = "") -> RenderableType:
    """Slack mrkdwn as prose that wraps and code blocks that don't."""
    parts = _parts(text, names or {}, style)
    return parts[0] if len(parts) == 1 else Group(*parts)


def _parts(text: str, names: Names, style: str) -> list[Text]:
    parts: list[Text] = []
    for index, part in enumerate(_FENCE.split(text)):
        if index % 2 == 0:
            prose = part.removeprefix("\n").removesuffix("\n") if index else part.rstrip("\n")
            if prose or not parts:
                parts.append(_inline(prose, names, style))
            continue
        code = _unescape(part).strip("\n")
        lines = "\n".join(CODE_INDENT + line for line in code.splitlines())
        parts.append(Code(lines, style=CODE_STYLE, no_wrap=True, overflow="ignore"))
    return parts


def _inline(text: str, names: Names, style: str) -> Text:
    out = Text()
    at = 0
    for match in _INLINE.finditer(text):
        out.append(_plain(text[at : match.start()]), style or None)
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "code":
            out.append(_unescape(value), _join(style, CODE_STYLE))
        elif kind == "link":
            out.append(_link(value, names), _join(style, "bold" if value[0] in "@!#" else ""))
        else:
            out.append_text(_inline(value, names, _join(style, _STYLES[kind])))
        at = match.end()
    out.append(_plain(text[at:]), style or None)
    return out


def _join(*styles: str) -> str:
    return " ".join(s for s in styles if s)


def _plain(text: str) -> str:
    return _unescape(Emoji.replace(text)) if text else ""


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link(inner: str, names: Names) -> str:
    """<@U1>, <@U1|alice>, <!subteam^S1>, <#C1|platform>, <!here>, <https://x|label>."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + names.get(target[1:], label or target[1:])
    if target.startswith("!subteam^"):
        group = target.removeprefix("!subteam^")
        return "@" + names.get(group, label.lstrip("@") or group)
    if target.startswith("#"):
        return "#" + (label or names.get(target[1:], target[1:]))
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return _unescape(label or target)


def text_object(obj: Mapping[str, Any] | None, names: Names, style: str = "") -> Text:
    """A Block Kit text object: mrkdwn is parsed, plain_text is shown as it is."""
    if not obj:
        return Text()
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names, style)
    return Text(Emoji.replace(str(obj.get("text", ""))), style=style)


def _text_block(obj: Mapping[str, Any], names: Names) -> RenderableType:
    if obj.get("type") == "mrkdwn":
        return mrkdwn_block(str(obj.get("text", "")), names)
    return text_object(obj, names)


def button_hint(element: Mapping[str, Any]) -> Text:
    """`[Retry] retry 42`: the button, then the console command that does what it does."""
    label = str((element.get("text") or {}).get("text", "button"))
    out = Text("[" + label + "]", style="bold")
    command = BUTTON_COMMANDS.get(str(element.get("action_id", "")))
    if command is not None:
        out.append(" ")
        out.append(command.format(value=element.get("value", "")), CODE_STYLE)
    elif element.get("url"):
        out.append(f" {element['url']}", "dim")
    return out


def block(data: Block, names: Names | None = None) -> RenderableType | None:
    """One block as a renderable; None for blocks that show nothing."""
    names = names or {}
    kind = data.get("type")
    if kind == "section":
        return _section(data, names)
    if kind == "context":
        parts = [_element(element, names, "dim") for element in data.get("elements") or ()]
        return Text(" ", style="dim").join(p for p in parts if p.plain)
    if kind == "actions":
        hints = [
            button_hint(e) if e.get("type") == "button" else Text(f"[{e.get('type')}]", "dim")
            for e in data.get("elements") or ()
        ]
        return Text("   ").join(hints)
    if kind == "header":
        return text_object(data.get("text"), names, "bold underline")
    if kind == "divider":
        return Rule(style="dim")
    if kind == "image":
        return Text(f"[image: {data.get('alt_text') or data.get('title') or ''}]", style="dim")
    if kind == "rich_text":
        return Text(_rich_text(data))
    return Text(f"[{kind} block]", style="dim")


def _section(data: Block, names: Names) -> RenderableType:
    parts: list[RenderableType] = []
    if data.get("text"):
        parts.append(_text_block(data["text"], names))
    fields = [text_object(field, names) for field in data.get("fields") or ()]
    if fields:
        parts.append(Text("\n").join(fields))
    accessory = data.get("accessory")
    if accessory and accessory.get("type") == "button":
        parts.append(button_hint(accessory))
    elif accessory and accessory.get("type") == "image":
        parts.append(Text(f"[image: {accessory.get('alt_text', '')}]", style="dim"))
    return parts[0] if len(parts) == 1 else Group(*parts)


def _element(element: Mapping[str, Any], names: Names, style: str) -> Text:
    if element.get("type") == "image":
        return Text(f"[{element.get('alt_text', 'image')}]", style=style)
    return text_object(element, names, style)


def _rich_text(data: Mapping[str, Any]) -> str:
    """The text of a rich_text block, flattened (the bot itself doesn't send these)."""
    if data.get("type") == "text":
        return str(data.get("text", ""))
    if data.get("type") == "user":
        return "@" + str(data.get("user_id", ""))
    return "".join(_rich_text(element) for element in data.get("elements") or ())


def blocks(items: Sequence[Block], names: Names | None = None) -> Group:
    """A message's blocks, one under the other."""
    rendered = [block(item, names) for item in items]
    return Group(*(r for r in rendered if r is not None))


def message(text: str, items: Sequence[Block] | None, names: Names | None = None) -> RenderableType:
    """A message as Slack shows it: its blocks, or its text when it has none."""
    return blocks(items, names) if items else mrkdwn_block(text, names)


def to_ansi(
    renderable: RenderableType, width: int, color: bool, indent: int = 0, prefix: Text | None = None
) -> str:
    """Lines for a terminal `width` wide: prose wraps within the indent, code blocks never wrap.
    `prefix` takes the indent's place on the first line."""
    lines: list[str] = []
    for piece in flatten(renderable):
        if isinstance(piece, Code):
            lines += _render(piece, 10_000, color, soft_wrap=True)
        else:
            lines += _render(piece, max(width - indent, 20), color)
    lines = [" " * indent + line for line in lines]
    if prefix is not None and lines:
        head = prefix.copy()
        head.pad_right(max(indent - head.cell_len, 0))
        lines[0] = _render(head, 10_000, color, soft_wrap=True, strip=False)[0] + lines[0][indent:]
    return "\n".join(lines) + "\n"


def flatten(renderable: RenderableType) -> list[RenderableType]:
    if isinstance(renderable, Group):
        return [piece for part in renderable.renderables for piece in flatten(part)]
    return [renderable]


def _render(
    renderable: RenderableType, width: int, color: bool, soft_wrap: bool = False, strip: bool = True
) -> list[str]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        emoji=False,
        highlight=False,
    )
    console.print(renderable, soft_wrap=soft_wrap)
    lines = buffer.getvalue().splitlines()
    return [line.rstrip() for line in lines] if strip and not color else lines


def to_plain(renderable: RenderableType, width: int = 100) -> str:
    """Render without colour: for tests, logs and terminals that can't show styles."""
    return to_ansi(renderable, width, color=False).rstrip("\n")
