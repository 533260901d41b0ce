"""The audit log's grammar (`/ecr audit`, `--since`), its reading, and how it is shown: Block Kit
for Slack, JSON and CSV for `ecrbot audit`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_sdk.models.blocks import Block

from bot.adapters.slack_directory import StaticDirectory
from bot.domain import commands as cmd
from bot.domain.access import Access, ChannelRule
from bot.domain.audit import AuditEntry, AuditPage, AuditQuery, parse_duration
from bot.domain.errors import UsageError
from bot.render import audit as render
from bot.render.blocks import SECTION_LIMIT
from bot.services.audit import latest
from handlers import auditing
from handlers.commands import ecr
from tests.fakes import MemoryAuditLog

NOW = datetime(2026, 6, 2, 9, 30, tzinfo=UTC)
ADMIN, ALICE = "U0ADMIN", "U0ALICE"


def entry(minutes_ago: int = 0, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "user": ALICE,
        "kind": "command",
        "action": "push",
        "outcome": "ok",
        "app": "my-app",
        "channel": "C0PLATFORM",
        "detail": "push my-app 1a2b3c4",
        "at": NOW - timedelta(minutes=minutes_ago),
    }
    values.update(fields)
    return AuditEntry(**values)  # type: ignore[arg-type]


# -- --since ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "duration"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1m", timedelta(minutes=1)),
        ("366d", timedelta(days=366)),
        ("52w", timedelta(weeks=52)),
    ],
)
def test_durations(word: str, duration: timedelta) -> None:
    assert parse_duration(word) == duration


@pytest.mark.parametrize(
    ("word", "said"),
    [
        ("", "is not a duration"),
        ("7", "is not a duration"),
        ("d", "is not a duration"),
        ("7D", "is not a duration"),
        ("1.5d", "is not a duration"),
        ("-1d", "is not a duration"),
        (" 7d", "is not a duration"),
        ("7 d", "is not a duration"),
        ("\u00b2d", "is not a duration"),  # superscript two: int() would take it
        ("\u0663d", "is not a duration"),  # Arabic-Indic three
        ("99999d", "is not a duration"),
        ("0m", "not between 1 minute and 366 days"),
        ("367d", "not between 1 minute and 366 days"),
        ("53w", "not between 1 minute and 366 days"),
        ("9999h", "not between 1 minute and 366 days"),
    ],
)
def test_bad_durations_say_how_to_write_one(word: str, said: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(word)
    assert said in caught.value.message and "`7d`" in caught.value.next_step


# -- /ecr audit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("audit", cmd.Audit()),
        ("AUDIT my-app", cmd.Audit(app="my-app")),
        ("audit --user <@U0ALICE|alice>", cmd.Audit(user=ALICE)),
        ("audit --user <@W0ALICE>", cmd.Audit(user="W0ALICE")),
        ("audit --user U0ALICE --since 7d", cmd.Audit(user=ALICE, since=timedelta(days=7))),
        ("audit --since=12h my-app", cmd.Audit(app="my-app", since=timedelta(hours=12))),
        ("audit my-app --user=U0ALICE", cmd.Audit(app="my-app", user=ALICE)),
    ],
)
def test_audit_commands(text: str, expected: cmd.Audit) -> None:
    assert cmd.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("audit my-app other", "`other` is not an audit option"),
        ("audit --app my-app", "`--app` is not an audit option"),
        ("audit My_App", "is not an app name"),
        ("audit --user", "`--user` needs a value"),
        ("audit --since", "`--since` needs a value"),
        ("audit --user alice", "`alice` is not a Slack user"),
        ("audit --user @alice", "is not a Slack user"),
        ("audit --user u0alice", "is not a Slack user"),
        ("audit --user <@U0ALICE|alice", "is not a Slack user"),
        ("audit --user <@U0ALICE|a|b>", "is not a Slack user"),
        ("audit --user <!channel>", "is not a Slack user"),
        ("audit --user <#C0PLATFORM|platform>", "is not a Slack user"),
        ("audit --user S0PLATFORM", "is not a Slack user"),
        ("audit --user U0ALICE\u200b", "is not a Slack user"),
        ("audit --since 7days", "is not a duration"),
    ],
)
def test_audit_usage_errors(text: str, said: str) -> None:
    with pytest.raises(UsageError) as caught:
        cmd.parse(text)
    assert said in caught.value.message


def test_help_lists_audit() -> None:
    assert "audit" in [usage.name for usage in cmd.USAGES]


# -- reading ----------------------------------------------------------------------------------


def test_latest_flushes_first_then_reads_the_newest_of_those_that_match() -> None:
    log = MemoryAuditLog()
    for minutes_ago in (600, 90, 30, 10):
        log.record(entry(minutes_ago))
    log.record(entry(5, app="other"))

    page = latest(log, "my-app", ALICE, timedelta(hours=2), limit=2, clock=lambda: NOW)

    assert log.flushes == 1
    assert page.query == AuditQuery("my-app", ALICE, NOW - timedelta(hours=2), 2)
    assert [e.at for e in page.entries] == [entry(10).at, entry(30).at]
    assert page.total == 3  # 90 minutes ago matches too; 600 is too old, `other` another app


def test_a_query_is_bounded() -> None:
    with pytest.raises(ValueError, match="limit"):
        AuditQuery(limit=0)
    with pytest.raises(ValueError, match="limit"):
        AuditQuery(limit=100_001)


# -- Slack ------------------------------------------------------------------------------------


def page(entries: list[AuditEntry], total: int | None = None, **query: Any) -> AuditPage:
    return AuditPage(AuditQuery(**query), entries, len(entries) if total is None else total)


def mrkdwn(blocks: list[dict[str, Any]]) -> str:
    texts = [block["text"]["text"] for block in blocks if block["type"] == "section"]
    texts += [
        e["text"] for block in blocks if block["type"] == "context" for e in block["elements"]
    ]
    return "\n".join(texts)


def valid(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    return blocks


def test_each_entry_is_one_line_with_who_what_where_when_and_how() -> None:
    refused = entry(
        1, user="U0BOB", kind="button", action="retry", outcome="refused", reason="You may not."
    )
    triage = entry(2, user="ecrbot", kind="triage", action="triage_answer", app=None, detail=None)
    blocks = valid(render.slack_blocks(page([refused, triage, entry(3)], total=3)))
    text = mrkdwn(blocks)
    assert "*Audit log*: the latest 3 of 3, UTC" in text
    first, second, third = text.split("\n")[1:4]
    assert first == (
        "2026-06-02 09:29 · <@U0BOB> · button/retry · `my-app` · <#C0PLATFORM> · "
        "`push my-app 1a2b3c4` · 🚫 refused: You may not."
    )
    assert second == "2026-06-02 09:28 · ecrbot · triage/triage_answer · <#C0PLATFORM> · ✅ ok"
    assert third.startswith("2026-06-02 09:27 · <@U0ALICE> · command/push")
    assert "more not shown" not in text


def test_the_filters_are_named_and_the_rest_counted() -> None:
    asked = page(
        [entry()], total=120, app="my-app", user=ALICE, since=NOW - timedelta(days=7), limit=50
    )
    text = mrkdwn(valid(render.slack_blocks(asked)))
    assert text.startswith(
        "*Audit log* for `my-app` by <@U0ALICE> since 2026-05-26 09:30: the latest 1 of 120"
    )
    assert "119 more not shown" in text and "ecrbot audit --format csv" in text
    assert render.headline(asked) == "Audit log: the latest 1 of 120 entries"


def test_no_entries() -> None:
    text = mrkdwn(valid(render.slack_blocks(page([], app="my-app"))))
    assert text == "*Audit log* for `my-app`: no entries."


HOSTILE = "<!channel> `x` ```y``` <@U1> <https://evil.example|ok> & *b*"


def test_outside_text_is_escaped_in_every_field() -> None:
    hostile = AuditEntry(
        user=HOSTILE,
        kind=HOSTILE,
        action=HOSTILE,
        outcome=HOSTILE,
        app=HOSTILE,
        channel=HOSTILE,
        detail=HOSTILE,
        reason=HOSTILE,
        at=NOW,
    )
    text = mrkdwn(valid(render.slack_blocks(page([hostile], app=HOSTILE, user=HOSTILE))))
    assert "<" not in text and ">" not in text  # no mention, broadcast or link fires
    assert "```" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    # Backticks are the renderer's own code spans only, and every span is closed.
    assert text.count("`") % 2 == 0 and "`x`" not in text


def test_fifty_huge_entries_stay_within_slacks_limits() -> None:
    huge = entry(
        user="U" * 64,
        action="<" * 64,
        app="&" * 200,
        channel="<" * 64,
        detail="&" * 1000,
        reason="<&>" * 166,
    )
    blocks = valid(render.slack_blocks(page([huge] * 50, total=5000)))
    text = mrkdwn(blocks)
    shown = int(text.split("the latest ")[1].split(" of")[0])
    assert 0 < shown <= 50
    assert f"{5000 - shown} more not shown" in text


# -- ecrbot audit -----------------------------------------------------------------------------


def test_json_keeps_the_values_and_nulls() -> None:
    (listed,) = json.loads(render.as_json([entry(app=None, reason=None, detail="=1+1")]))
    assert listed == {
        "at": "2026-06-02T09:30:00+00:00",
        "user": ALICE,
        "kind": "command",
        "action": "push",
        "app": None,
        "job": None,
        "channel": "C0PLATFORM",
        "outcome": "ok",
        "reason": None,
        "detail": "=1+1",
    }


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1", "'\t=1"),
        ("  =1", "'  =1"),
        ("push my-app 1a2b3c4", "push my-app 1a2b3c4"),
        ('a "quoted", value\nover lines', 'a "quoted", value\nover lines'),
    ],
)
def test_csv_cells_never_run_as_formulas(value: str, cell: str) -> None:
    out = render.as_csv([entry(detail=value, reason=value, user=value)])
    header, row = list(csv.reader(io.StringIO(out)))
    fields = dict(zip(header, row, strict=True))
    assert fields["detail"] == fields["reason"] == fields["user"] == cell
    assert fields["at"] == "2026-06-02T09:30:00+00:00" and fields["app"] == "my-app"


def test_csv_of_nothing_is_its_header() -> None:
    assert render.as_csv([]) == "at,user,kind,action,app,job,channel,outcome,reason,detail\r\n"


# -- the /ecr audit handler -------------------------------------------------------------------


def run_audit(user: str, text: str, log: MemoryAuditLog) -> dict[str, Any]:
    services = SimpleNamespace(
        catalog=SimpleNamespace(slack=SimpleNamespace(channel_rule=ChannelRule(("C0PLATFORM",)))),
        access=Access(("S0PLATFORM",), StaticDirectory({"S0PLATFORM": frozenset({ADMIN})})),
        audit=log,
    )
    acked: list[dict[str, Any]] = []
    command = {"user_id": user, "channel_id": "C0PLATFORM", "text": text}
    ecr(
        lambda **answer: acked.append(answer),  # type: ignore[arg-type]
        command,
        BoltContext({"services": services}),
        lambda **_: None,  # type: ignore[arg-type]
    )
    (answer,) = acked
    return answer


def test_admins_read_the_audit_log_ephemerally() -> None:
    log = MemoryAuditLog()  # stamps entries with the time they are recorded
    log.record(entry(at=None))
    log.record(entry(at=None, app="other"))
    answer = run_audit(ADMIN, "audit my-app --user &lt;@U0ALICE|alice&gt; --since 1h", log)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Audit log: the latest 1 of 1 entries"
    assert "<@U0ALICE> · command/push · `my-app`" in mrkdwn(answer["blocks"])
    assert log.flushes == 1


def test_others_are_refused_and_read_nothing() -> None:
    log = MemoryAuditLog()
    log.record(entry())
    answer = run_audit(ALICE, "audit", log)
    assert answer["response_type"] == "ephemeral" and "blocks" not in answer
    assert "You may not read the audit log." in answer["text"]
    assert log.flushes == 0


def test_a_slash_commands_words_are_parsed_once_for_its_note_and_its_listener() -> None:
    body = {"command": "/ecr", "text": "push my-app 1a2b3c4", "user_id": "U0ALICE"}
    note, token = auditing.begin(body)
    try:
        assert note is not None and note.app == "my-app"
        assert auditing.command("push my-app 1a2b3c4") is note.parsed  # the note's parse
        assert auditing.command("jobs") == cmd.Jobs()  # other words: parsed afresh
    finally:
        auditing.end(token)
    note, token = auditing.begin({**body, "text": "push my-app"})
    try:
        assert note is not None and note.app is None
        with pytest.raises(UsageError):  # the words are off: the listener answers with usage
            auditing.command("push my-app")
    finally:
        auditing.end(token)
