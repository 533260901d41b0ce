"""Each report's headline figures, kept so week-over-week changes and the trend survive restarts."""

from __future__ import annotations

import sqlalchemy as sa

from bot.adapters.schema import report_figures, require_current
from bot.domain.report import ReportFigures


class SqlReportHistory:
    """Report figures in the bot's database, oldest first."""

    def __init__(self, url: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self._engine = sa.create_engine(url, connect_args=connect_args)
        require_current(self._engine)

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
