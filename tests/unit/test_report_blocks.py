"""The report's `table` and `data_visualization` blocks: golden, within Slack's documented
limits, and judged by the Slack stand-in, which refuses what Slack refuses.

Regenerate the golden files after an intended change: `ECRBOT_UPDATE_GOLDEN=1 pytest <this>`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.report import HealthReport, build_report
from bot.render import report as render
from bot.render import report_blocks
from tests.golden import check_golden
from tests.standins.slack_api import _content_error
from tests.unit.test_report_render import NOW, big_snapshot, small

DATA = Path(__file__).resolve().parents[1] / "data" / "report"


@pytest.fixture(scope="module")
def big() -> HealthReport:
    return build_report(big_snapshot(), None, NOW)


def slack_says(blocks: list[dict[str, Any]]) -> str | None:
    """The stand-in's answer to a message of these blocks: None when Slack would take it."""
    refused = _content_error({"text": "t", "blocks": blocks})
    return None if refused is None else str(refused["error"])


def history(weeks: int) -> list[Any]:
    report = small()
    return [
        replace(
            report.figures,
            taken_at=NOW - timedelta(weeks=w),
            findings_by_severity={"CRITICAL": w, "HIGH": 2 * w},
        )
        for w in range(weeks, 0, -1)
    ]


def test_charts_match_golden_and_slack_takes_them() -> None:
    blocks = render.slack_blocks(small(), history(3))
    charts = [b for b in blocks if b["type"] == "data_visualization"]
    assert [c["chart"]["type"] for c in charts] == ["bar", "line"]
    assert len(blocks) <= 50 and slack_says(blocks) is None
    check_golden(DATA / "charts.json", json.dumps(charts, indent=2, ensure_ascii=False) + "\n")


def test_item_tables_match_golden_and_slack_takes_them() -> None:
    tables = report_blocks.item_tables(small())
    assert len(tables) == 1
    for _, blocks in tables:
        assert slack_says(blocks) is None
    rendered = json.dumps([blocks for _, blocks in tables], indent=2, ensure_ascii=False)
    check_golden(DATA / "item_tables.json", rendered + "\n")


def test_a_big_report_is_split_one_table_a_message_within_100_rows(big: HealthReport) -> None:
    tables = report_blocks.item_tables(big)
    items = len(big.items)
    assert items > report_blocks.ITEMS_PER_TABLE * report_blocks.MAX_TABLES  # the bound bites
    assert len(tables) == report_blocks.MAX_TABLES
    shown = 0
    for _, blocks in tables:
        assert slack_says(blocks) is None
        (table,) = [b for b in blocks if b["type"] == "table"]
        assert len(table["rows"]) <= 100 and all(len(r) <= 20 for r in table["rows"])
        shown += len(table["rows"]) - 1
    left = items - shown
    assert f"{left} more not shown here" in tables[-1][0]
    assert "attached CSV" in tables[-1][0]


def test_owners_are_mentions_and_outside_text_is_raw_and_bounded() -> None:
    report = small()
    long = replace(report.items[0], owner="U0ALICE", message="x" * 1000 + "\n<!here>")
    group = replace(report.items[1], owner="S0TEAM", repository="")
    nobody = replace(report.items[2], owner=None)
    report = replace(report, sections=(replace(report.sections[0], items=(long, group, nobody)),))
    (_, blocks), *_ = report_blocks.item_tables(report)
    table = blocks[1]
    owner = [row[3] for row in table["rows"][1:]]
    assert owner[0]["elements"][0]["elements"][0] == {"type": "user", "user_id": "U0ALICE"}
    assert owner[1]["elements"][0]["elements"][0] == {"type": "usergroup", "usergroup_id": "S0TEAM"}
    assert owner[2] == {"type": "raw_text", "text": "no owner"}
    message = table["rows"][1][4]["text"]
    assert len(message) == report_blocks.CELL_CHARS and "\n" not in message
    assert table["rows"][2][2] == {"type": "raw_text", "text": "-"}  # Slack refuses ""
    assert slack_says(blocks) is None


def test_chart_labels_are_cut_to_20_and_stay_different() -> None:
    names = ["a-very-long-repository-name-one", "a-very-long-repository-name-two", "x"]
    labels = report_blocks.short_labels(names)
    assert all(len(label) <= 20 for label in labels)
    assert len(set(labels)) == 3 and labels[2] == "x"


def test_a_registry_of_many_repositories_charts_its_top_15(big: HealthReport) -> None:
    blocks = render.slack_blocks(big, history(20))
    (bar, line) = [b for b in blocks if b["type"] == "data_visualization"]
    assert len(bar["chart"]["axis_config"]["categories"]) == 15
    assert len(line["chart"]["axis_config"]["categories"]) == 12
    assert len(blocks) <= 50 and slack_says(blocks) is None


def test_the_chart_block_refuses_what_slack_refuses() -> None:
    good = report_blocks.charts(small().figures, [])[0].to_dict()
    assert report_blocks.chart_problem(good["title"], good["chart"]) is None
    too_many = copy.deepcopy(good["chart"])
    too_many["series"] = [dict(too_many["series"][0], name=f"s{i}") for i in range(7)]
    assert "1 to 6 series" in str(report_blocks.chart_problem("t", too_many))
    with pytest.raises(ValueError, match="title"):
        report_blocks.DataVisualizationBlock(title="t" * 51, chart=good["chart"]).to_dict()


# -- the stand-in is as strict as Slack's documentation ------------------------------------------


def table(rows: list[list[dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    return {"type": "table", "rows": rows, **extra}


CELL = {"type": "raw_text", "text": "a"}


@pytest.mark.parametrize(
    ("block", "why"),
    [
        (table([[CELL]] * 101), "101 rows"),
        (table([[CELL] * 21]), "21 cells in a row"),
        (table([[{"type": "mrkdwn", "text": "a"}]]), "a mrkdwn cell"),
        (table([[{"type": "raw_text", "text": ""}]]), "an empty raw_text"),
        (table([[CELL]], caption="x"), "an unknown field"),
        (table([[CELL]], column_settings=[{"align": "justify"}]), "an unknown alignment"),
        (table([[CELL]], column_settings=[{}] * 21), "21 column settings"),
        ({"type": "data_visualization", "title": "t", "chart": {"type": "scatter"}}, "a kind"),
        (
            {
                "type": "data_visualization",
                "title": "t",
                "chart": {"type": "pie", "segments": [{"label": "a", "value": 0}]},
            },
            "a pie slice of 0",
        ),
        (
            {
                "type": "data_visualization",
                "title": "t" * 51,
                "chart": {"type": "pie", "segments": [{"label": "a", "value": 1}]},
            },
            "a 51-character title",
        ),
        (
            {
                "type": "data_visualization",
                "title": "t",
                "chart": {
                    "type": "bar",
                    "series": [{"name": "s", "data": [{"label": "b", "value": 1}]}],
                    "axis_config": {"categories": ["a"]},
                },
            },
            "a point outside the categories",
        ),
    ],
)
def test_the_stand_in_refuses_blocks_slack_refuses(block: dict[str, Any], why: str) -> None:
    assert slack_says([block]) == "invalid_blocks", why


def test_the_stand_in_takes_one_table_a_message_only() -> None:
    one = table([[CELL]])
    assert slack_says([one]) is None
    assert slack_says([one, one]) == "invalid_attachments"
