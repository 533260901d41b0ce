"""Marks every bot replica shares in PostgreSQL: Slack request signatures already seen (replay
protection) and rate-limit slots in use, each until its expiry.

"First" is decided by the table's primary key, so two replicas taking the same mark at the same
moment can't both win (`INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`: a mark whose expiry
passed is taken again, in the same statement). Time is the database's, never a replica's clock.
A rate limit of N per window is N slots per (action, user); a use holds a free slot for the
window, which is the sliding window the single process keeps in memory.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from bot.adapters.schema import request_marks

log = logging.getLogger(__name__)

PRUNE_EVERY = 500  # marks taken between deletions of the expired ones


class SqlRequestMarks:
    """Implements the request guard's RequestMarks and access's RateWindows."""

    def __init__(self, engine: sa.Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared request marks need PostgreSQL (a single process uses memory)")
        self._engine = engine
        self._taken = itertools.count(1)

    def first_time(self, mark: str, ttl_s: float) -> bool:
        """Take `mark` for `ttl_s` seconds; False if another process (or this one) holds it."""
        key = "sig:" + hashlib.sha256(mark.encode()).hexdigest()  # bounded, whatever the input
        with self._engine.begin() as conn:
            taken = _take(conn, key, ttl_s)
        self._maybe_prune()
        return taken

    def take(self, key: str, count: int, per_s: float) -> float | None:
        with self._engine.begin() as conn:
            for slot in range(count):
                if _take(conn, f"rate:{key[:150]}:{slot}", per_s):
                    return None
            soonest = conn.execute(
                sa.select(
                    sa.func.extract(
                        "epoch", sa.func.min(request_marks.c.expires_at) - sa.func.now()
                    )
                ).where(request_marks.c.mark.startswith(f"rate:{key[:150]}:", autoescape=True))
            ).scalar()
        return max(0.0, float(soonest or 0.0))

    def _maybe_prune(self) -> None:
        if next(self._taken) % PRUNE_EVERY:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    request_marks.delete().where(request_marks.c.expires_at < sa.func.now())
                )
        except sa.exc.SQLAlchemyError as error:  # housekeeping: the next prune tries again
            log.warning("pruning request marks: %s", type(error).__name__)


def _take(conn: sa.Connection, mark: str, ttl_s: float) -> bool:
    expires = sa.func.now() + sa.literal(timedelta(seconds=ttl_s), sa.Interval)
    statement = insert(request_marks).values(mark=mark, expires_at=expires)
    taking = statement.on_conflict_do_update(
        index_elements=[request_marks.c.mark],
        set_={"expires_at": statement.excluded.expires_at},
        where=request_marks.c.expires_at <= sa.func.now(),
    ).returning(request_marks.c.mark)
    return conn.execute(taking).first() is not None
