"""Each report's headline figures, kept so week-over-week changes and the trend survive restarts."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.adapters.schema import report_figures, report_fires, require_current
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


class SqlReportFires:
    """Scheduled runs already claimed: the first replica to insert a fire time posts it."""

    def __init__(self, url: str, claimant: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self._engine = sa.create_engine(url, connect_args=connect_args)
        self._claimant = claimant[:200]
        require_current(self._engine)

    def claim(self, schedule_id: str, fire_time: datetime) -> bool:
        row = {
            "schedule_id": schedule_id,
            "fire_time": fire_time.astimezone(UTC),
            "claimed_by": self._claimant,
            "claimed_at": datetime.now(UTC),
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(report_fires.insert().values(**row))
        except IntegrityError:
            return False
        return True
