"""The report's chart: storage per repository and the findings trend, as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

# Figure and the Agg canvas directly, never pyplot: no global state, no display, thread-safe.
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.report import ReportFigures, SectionId, gap_sections
from bot.domain.report.model import human_size

TOP_REPOSITORIES = 15
WEEKS = 12
SIZE_INCHES = (12.0, 5.0)
DPI = 100  # 1200 x 500 pixels, whatever the data
NAME_CHARS = 32
COLOURS = {"CRITICAL": "#c62828", "HIGH": "#ef6c00"}
UNITS = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1.0, "B"))


def render_png(current: ReportFigures, history: Sequence[ReportFigures]) -> bytes:
    """Storage per repository (top 15) and critical/high findings over the last weeks."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    storage, trend = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    _storage(storage, current)
    _trend(trend, current, history)
    # Fixed margins (names are cut to NAME_CHARS): tight_layout would cost a second draw.
    figure.subplots_adjust(left=0.17, right=0.98, top=0.92, bottom=0.16, wspace=0.18)
    buffer = io.BytesIO()
    # No software or date metadata: the same figures give the same bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _storage(ax: Axes, current: ReportFigures) -> None:
    top = sorted(current.storage_by_repository.items(), key=lambda kv: (-kv[1], kv[0]))
    top = top[:TOP_REPOSITORIES]
    shown = f"top {len(top)} of {len(current.storage_by_repository)}"
    ax.set_title(f"Storage per repository ({shown})")
    if not top or top[0][1] == 0:
        ax.text(0.5, 0.5, "No images stored", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    scale, unit = next((s, u) for s, u in UNITS if top[0][1] >= s or u == "B")
    names = [_name(name) for name, _ in reversed(top)]  # largest at the top
    values = [size / scale for _, size in reversed(top)]
    bars = ax.barh(range(len(top)), values, color="#1565c0")
    ax.bar_label(bars, [human_size(size) for _, size in reversed(top)], padding=3, fontsize=7)
    ax.set_yticks(range(len(top)), names, fontsize=8)
    ax.set_xlim(0, max(values) * 1.15)  # room for the labels
    ax.set_xlabel(unit)


def _trend(ax: Axes, current: ReportFigures, history: Sequence[ReportFigures]) -> None:
    # One point per report, the current one winning over a stored copy of itself.
    weeks = {f.taken_at: f for f in history} | {current.taken_at: current}
    points = [weeks[at] for at in sorted(weeks)][-WEEKS:]
    ax.set_title(f"Critical and high findings (last {len(points)} reports)")
    xs = list(range(len(points)))
    for severity, colour in COLOURS.items():
        ys = [p.findings_by_severity.get(severity, 0) for p in points]
        ax.plot(xs, ys, color=colour, label=severity.lower(), marker="o")
        # A week whose findings were partly unreadable gets a hollow marker: not a real drop.
        partial = [i for i, p in enumerate(points) if _partial(p)]
        if partial:
            ax.plot(
                [xs[i] for i in partial],
                [ys[i] for i in partial],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                color=colour,
            )
    labels = [p.taken_at.strftime("%d %b") for p in points]
    ax.set_xticks(xs, labels, fontsize=8, rotation=45, ha="right")
    ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # findings are counted, not measured
    if any(_partial(p) for p in points):
        ax.plot(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            color="grey",
            label="partial week (findings unread)",
        )
    ax.legend(loc="upper left", fontsize=8)


def _partial(figures: ReportFigures) -> bool:
    return any(SectionId.VULNERABILITIES in gap_sections(g) for g in figures.gaps)


def _name(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
