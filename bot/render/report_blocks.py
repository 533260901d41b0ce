"""The report's tables and charts as Block Kit: `table` and `data_visualization` blocks.

Both render with `chat:write` alone, so a workspace that never granted `files:write` still gets
every item and both charts; the PNG and the detail files are attached too where it did.

Slack's documentation, read 2026-07-20:
- table block, https://docs.slack.dev/reference/block-kit/blocks/table-block: `rows` at most 100,
  each row at most 20 cells, cells `raw_text` or `rich_text` (slack_sdk 3.48 also knows
  `raw_number`); `column_settings` at most 20 of `align` (left, center, right) and `is_wrapped`.
  One table per message: a second one is refused (`only_one_table_allowed`, reported by several
  SDKs and integrations; the stored copy of Slack's "Usage info" paragraph was cut off).
- data visualization block, https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block
  (changelog 2026-06-16): `title` at most 50 characters; `chart` is pie (1 to 6 segments, label
  at most 20 characters, value > 0), or bar, area, line (1 to 6 series and an `axis_config`).
  The stored copy stops inside "Data Series"; its field names (`name`, `data` of `label`/`value`)
  and the axis limits (categories of at most 20 characters, `x_label`/`y_label` at most 50,
  1 to 20 points a series) are those of the slack-messaging crate, which mirrors the page's
  anchors. Where sources disagree (another integration says 12 series), the smaller wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    RawTextObject,
    RichTextBlock,
    RichTextElementParts,
    RichTextSectionElement,
    TableBlock,
)
from slack_sdk.models.blocks.basic_components import TableBlockColumnSettings

from bot.domain.report import HealthReport, Item, ReportFigures
from bot.render.blocks import Blocks
from bot.render.escape import GROUP_ID, USER_ID, raw

# Slack's limits (see the module docstring).
TABLE_ROWS = 100
TABLE_CELLS = 20
CHART_TITLE = 50
CHART_LABEL = 20
AXIS_LABEL = 50
CHART_SERIES = 6
SERIES_POINTS = 20
# Ours: a table message per 99 items (the header is a row), at most 5 messages in a thread, and
# a cell cut where a table stops being readable (the detail files keep the whole text).
ITEMS_PER_TABLE = TABLE_ROWS - 1
MAX_TABLES = 5
CELL_CHARS = 300
TOP_REPOSITORIES = 15  # as in the PNG
WEEKS = 12  # as in the PNG
COLUMNS = ("Section", "Level", "Repository", "Owner", "Message", "Fix")
UNITS = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1.0, "B"))


class DataVisualizationBlock(Block):
    """A `data_visualization` block: slack_sdk 3.48 has no model for it, so this one checks
    the documented limits when it is serialised, as slack_sdk's own blocks do."""

    type = "data_visualization"

    @property
    def attributes(self) -> set[str]:  # type: ignore[override]
        return super().attributes.union({"title", "chart"})

    def __init__(self, *, title: str, chart: dict[str, Any], block_id: str | None = None):
        super().__init__(type=self.type, block_id=block_id)
        self.title = title
        self.chart = chart

    def to_dict(self, *args: Any) -> dict[str, Any]:
        problem = chart_problem(self.title, self.chart)
        if problem:
            raise ValueError(f"data_visualization: {problem}")
        return super().to_dict(*args)


def chart_problem(title: object, chart: object) -> str | None:
    """What Slack would refuse in a data_visualization's title and chart, or None."""
    if not isinstance(title, str) or not 1 <= len(title) <= CHART_TITLE:
        return f"title must be 1 to {CHART_TITLE} characters"
    if not isinstance(chart, dict):
        return "chart must be an object"
    kind = chart.get("type")
    if kind == "pie":
        if set(chart) != {"type", "segments"}:
            return "a pie chart has type and segments only"
        segments = chart["segments"]
        if not isinstance(segments, list) or not 1 <= len(segments) <= CHART_SERIES:
            return f"a pie has 1 to {CHART_SERIES} segments"
        for segment in segments:
            if not isinstance(segment, dict) or set(segment) != {"label", "value"}:
                return "a segment has label and value only"
            if not _label_ok(segment["label"], CHART_LABEL):
                return f"a segment label is 1 to {CHART_LABEL} characters"
            if not _number(segment["value"]) or segment["value"] <= 0:
                return "a segment value is a number above 0"
        return None
    if kind not in ("bar", "area", "line"):
        return "chart type must be pie, bar, area or line"
    if set(chart) != {"type", "series", "axis_config"}:
        return f"a {kind} chart has type, series and axis_config only"
    axis = chart["axis_config"]
    if not isinstance(axis, dict) or not set(axis) <= {"categories", "x_label", "y_label"}:
        return "axis_config has categories, x_label and y_label only"
    categories = axis.get("categories")
    if not isinstance(categories, list) or not 1 <= len(categories) <= SERIES_POINTS:
        return f"axis_config.categories holds 1 to {SERIES_POINTS} labels"
    if any(not _label_ok(c, CHART_LABEL) for c in categories) or len(set(categories)) != len(
        categories
    ):
        return f"categories are unique, 1 to {CHART_LABEL} characters"
    for key in ("x_label", "y_label"):
        if key in axis and not _label_ok(axis[key], AXIS_LABEL):
            return f"{key} is 1 to {AXIS_LABEL} characters"
    series = chart["series"]
    if not isinstance(series, list) or not 1 <= len(series) <= CHART_SERIES:
        return f"a {kind} chart has 1 to {CHART_SERIES} series"
    names: set[str] = set()
    for one in series:
        if not isinstance(one, dict) or set(one) != {"name", "data"}:
            return "a series has name and data only"
        if not _label_ok(one["name"], CHART_LABEL) or one["name"] in names:
            return f"series names are unique, 1 to {CHART_LABEL} characters"
        names.add(one["name"])
        data = one["data"]
        if not isinstance(data, list) or not 1 <= len(data) <= SERIES_POINTS:
            return f"a series has 1 to {SERIES_POINTS} points"
        for point in data:
            if not isinstance(point, dict) or set(point) != {"label", "value"}:
                return "a point has label and value only"
            if point["label"] not in categories or not _number(point["value"]):
                return "a point's label is one of the categories and its value a number"
    return None


def _label_ok(value: object, limit: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= limit


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- the charts ------------------------------------------------------------------------------------


def charts(current: ReportFigures, history: Sequence[ReportFigures]) -> list[Block]:
    """Storage per repository (bar) and critical/high findings per report (line), as the PNG."""
    shown: list[Block] = []
    storage = _storage(current)
    if storage is not None:
        shown.append(storage)
    shown.append(_trend(current, history))
    return shown


def _storage(current: ReportFigures) -> DataVisualizationBlock | None:
    top = sorted(current.storage_by_repository.items(), key=lambda kv: (-kv[1], kv[0]))
    top = top[:TOP_REPOSITORIES]
    if not top:
        return None
    scale, unit = next((s, u) for s, u in UNITS if top[0][1] >= s or u == "B")
    labels = short_labels([name for name, _ in top])
    data = [
        {"label": label, "value": round(size / scale, 2)}
        for label, (_, size) in zip(labels, top, strict=True)
    ]
    title = f"Storage, top {len(top)} of {len(current.storage_by_repository)} repositories"
    return DataVisualizationBlock(
        title=title[:CHART_TITLE],
        block_id="report-storage",
        chart={
            "type": "bar",
            "series": [{"name": "Storage", "data": data}],
            "axis_config": {"categories": labels, "x_label": "Repository", "y_label": unit},
        },
    )


def _trend(current: ReportFigures, history: Sequence[ReportFigures]) -> DataVisualizationBlock:
    weeks = {f.taken_at: f for f in history} | {current.taken_at: current}
    points = [weeks[at] for at in sorted(weeks)][-WEEKS:]
    labels = [p.taken_at.strftime("%d %b") for p in points]
    if len(set(labels)) != len(labels):  # two reports on one day
        labels = [p.taken_at.strftime("%d %b %H:%M") for p in points]
    labels = short_labels(labels)
    series = [
        {
            "name": severity.lower(),
            "data": [
                {"label": label, "value": p.findings_by_severity.get(severity, 0)}
                for label, p in zip(labels, points, strict=True)
            ],
        }
        for severity in ("CRITICAL", "HIGH")
    ]
    return DataVisualizationBlock(
        title=f"Critical and high findings, last {len(points)} reports"[:CHART_TITLE],
        block_id="report-trend",
        chart={
            "type": "line",
            "series": series,
            "axis_config": {"categories": labels, "x_label": "Report", "y_label": "Findings"},
        },
    )


def short_labels(names: Sequence[str]) -> list[str]:
    """Names as chart labels: one line, at most 20 characters, all different."""
    out: list[str] = []
    for name in names:
        label = raw(name, CHART_LABEL) or "?"
        n = 2
        while label in out:  # two names cut to the same label
            suffix = f"~{n}"
            label = raw(name, CHART_LABEL - len(suffix)).rstrip("…") + suffix
            n += 1
        out.append(label)
    return out


# -- the tables ------------------------------------------------------------------------------------


def item_tables(report: HealthReport) -> list[tuple[str, Blocks]]:
    """Every item, 99 to a table, one table per message (Slack allows one): (text, blocks)."""
    items = list(report.items)
    chunks = [items[i : i + ITEMS_PER_TABLE] for i in range(0, len(items), ITEMS_PER_TABLE)]
    shown = chunks[:MAX_TABLES]
    left = len(items) - sum(len(c) for c in shown)
    out: list[tuple[str, Blocks]] = []
    for n, chunk in enumerate(shown, start=1):
        first = (n - 1) * ITEMS_PER_TABLE + 1
        head = f"Items {first} to {first + len(chunk) - 1} of {len(items)}"
        if n == len(shown) and left:
            head += (
                f" · {left} more not shown here (Slack holds 100 rows a table): the attached "
                "CSV lists them, or `ecrbot report --format csv`"
            )
        table = TableBlock(
            rows=[[RawTextObject(text=c) for c in COLUMNS], *(_row(i) for i in chunk)],
            column_settings=[
                TableBlockColumnSettings(is_wrapped=name in ("Message", "Fix")) for name in COLUMNS
            ],
            block_id=f"report-items-{n}",
        )
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": head}]}
        out.append((head.replace("`", ""), [context, table.to_dict()]))
    return out


def _row(item: Item) -> list[RawTextObject | RichTextBlock]:
    return [
        _text(item.section.value),
        _text(item.level.value),
        _text(f"{item.registry}:{item.repository}" if item.registry else item.repository),
        _owner(item.owner),
        _text(item.message),
        _text(item.fix),  # a multi-line fix on one line, cut at 300: whole in the files
    ]


def _text(value: str) -> RawTextObject:
    return RawTextObject(text=raw(value, CELL_CHARS) or "-")


def _owner(owner: str | None) -> RawTextObject | RichTextBlock:
    """A user or user group as a mention Slack resolves (rich_text), anything else as text."""
    if owner and USER_ID.fullmatch(owner):
        part: Any = RichTextElementParts.User(user_id=owner)
    elif owner and GROUP_ID.fullmatch(owner):
        part = RichTextElementParts.UserGroup(usergroup_id=owner)
    else:
        return _text(owner or "no owner")
    return RichTextBlock(elements=[RichTextSectionElement(elements=[part])])
