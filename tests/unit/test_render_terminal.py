"""Block Kit in the terminal (the console): the golden Slack messages rendered for a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from bot.render import terminal

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NAMES = {"U0ALICE": "alice"}


def render(name: str, width: int = 100) -> str:
    return terminal.to_plain(terminal.blocks(json.loads((GOLDEN / name).read_text()), NAMES), width)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_golden_message_renders_without_slack_markup(path: Path) -> None:
    text = render(path.name)
    assert text.strip()
    for markup in ("<@", "&lt;", "&gt;", "```", '"type"', "mrkdwn"):
        assert markup not in text, f"{markup!r} left in {path.stem}:\n{text}"


def test_failed_parent_shows_the_step_fix_log_and_the_retry_command() -> None:
    lines = render("parent_failed.json").splitlines()
    assert lines[0] == "❌ my-app @ 1a2b3c4 1.4.0 → ECR, requested by @alice"
    assert "Failed at build: A RUN step in the Dockerfile failed" in lines
    assert "Fix: Reproduce with docker build .." in lines
    # The log is a code block: indented, verbatim, not wrapped.
    assert "    make: *** 2" in lines
    assert lines[-1] == "[Retry] retry 42"


def test_succeeded_parent_keeps_uris_and_digest_whole_and_offers_diagnose() -> None:
    text = render("parent_succeeded.json", width=60)
    assert "Digest" in text and "sha256:" + "d" * 64 in text.replace("\n", "")
    assert "[Run diagnose] diagnose my-app" in text
    assert "⚠️ 1.4.0 moves from sha256:aaaa (ffff) to this build" in text


def test_running_parent_offers_cancel_and_context_is_dim() -> None:
    blocks = json.loads((GOLDEN / "parent_running.json").read_text())
    rendered = [terminal.block(b, NAMES) for b in blocks]
    context = next(r for r, b in zip(rendered, blocks, strict=True) if b["type"] == "context")
    assert isinstance(context, Text) and "dim" in str(context.style)
    assert terminal.to_plain(terminal.blocks(blocks, NAMES)).endswith("[Cancel] cancel 42")


def test_help_and_jobs() -> None:
    assert "• /ecr push <app> <sha> [version]" in render("help.json")
    assert "e.g. /ecr cancel 42" in render("help.json")
    jobs = render("jobs.json").splitlines()
    assert jobs[0] == "Recent jobs"
    assert jobs[1].startswith("✅ 42 succeeded · my-app 1a2b3c4 1.4.0 · @alice")


def test_mrkdwn_styles_mentions_links_and_entities() -> None:
    text = terminal.mrkdwn(
        "*bold* _it_ ~gone~ `code` snake_case_name <@U0BOB> <@U0ALICE> <!subteam^S0WEB> "
        "<#C0PLATFORM|platform> <https://example.com|the docs> a &lt;b&gt; &amp; :warning:",
        NAMES,
    )
    assert text.plain == (
        "bold it gone code snake_case_name @U0BOB @alice @S0WEB #platform the docs a <b> & ⚠"
    )
    styles = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert styles["bold"] == "bold" and styles["it"] == "italic" and styles["gone"] == "strike"
    assert styles["code"] == terminal.CODE_STYLE


def test_code_blocks_never_wrap_so_fixes_paste_whole() -> None:
    command = "aws ecr put-image-tag-mutability --repository-name billing-api " * 2
    text = terminal.to_plain(terminal.mrkdwn_block(f"*Fix:*\n```{command.strip()}```"), width=40)
    assert text.splitlines() == ["Fix:", "    " + command.strip()]


def test_header_divider_fields_and_unknown_blocks() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly"}},
        {"type": "divider"},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Repos* 3"},
                {"type": "plain_text", "text": "x"},
            ],
            "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}},
        },
        {"type": "video"},
    ]
    lines = terminal.to_plain(terminal.blocks(blocks), width=20).splitlines()
    assert lines[0] == "Weekly" and set(lines[1]) == {"─"}
    assert lines[2:] == ["Repos 3", "x", "[Open]", "[video block]"]


def test_a_prefix_takes_the_indent_of_the_first_line() -> None:
    body = terminal.mrkdwn_block("one two three four five six seven eight nine ten")
    out = terminal.to_ansi(body, 31, color=False, indent=7, prefix=Text("ecrbot"))
    assert out.splitlines() == ["ecrbot one two three four five", "       six seven eight nine ten"]
