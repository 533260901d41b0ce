"""Each report's headline figures, kept so week-over-week changes and the trend survive restarts."""

from __future__ import annotations

import sqlalchemy as sa

from bot.adapters.store import metadata
from bot.domain.report import ReportFigures

report_figures = sa.Table(
    "report_figures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("figures", sa.Text, nullable=False),
)


class SqlReportHistory:
    """Report figures in the bot's database, oldest first."""

    def __init__(self, url: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self._engine = sa.create_engine(url, connect_args=connect_args)
        metadata.create_all(self._engine, tables=[report_figures])

    def save(self, figures: ReportFigures) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                report_figures.insert().values(taken_at=figures.taken_at, figures=figures.to_json())
            )

    def history(self, limit: int = 12) -> list[ReportFigures]:
        query = sa.select(report_figures.c.figures).order_by(report_figures.c.id.desc())
        with self._engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).scalars().all()
        return [ReportFigures.from_json(text) for text in reversed(rows)]
