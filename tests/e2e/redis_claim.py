"""A Redis database that no other test run on this machine uses while this one holds it.

Every e2e world of the `celery` backend (and bench_queue_cost and bench_fleet, which build
such worlds) needs a broker of its own: the jobs sit in a Redis list named after the queue
(`ecrbot`), so two runs on one database flush each other's queue and each run's workers take
the other's jobs, which then stay queued forever in the run that sent them (18 of 20 builds in
one bench_queue_cost run while an e2e run worked beside it). A per-process counter is not
enough: each pytest or benchmark process started it at database 1.

So a database is claimed across processes: a key in database 0 (which holds only these
claims) set only if absent, naming its owner's host and process. A database is skipped while
any client is connected to it, even unclaimed: a worker left behind by a killed run still
takes jobs from it. A claim whose process is gone is taken back (its key also expires).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

import redis

DATABASES = range(1, 16)  # Redis's default 16, less database 0
CLAIM_TTL_S = 12 * 3600  # longer than any run; a killed run's claim is taken back by its pid
_PREFIX = "ecrbot-test:redis-db:"

# Set the key to ARGV[2] only if it still holds ARGV[1] (the stale owner seen by the caller).
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _alive(owner: str) -> bool:
    """Whether the process an owner string names may still run (another host's: assume so)."""
    host, _, rest = owner.partition(" ")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(rest.split(" ", 1)[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


class RedisClaim:
    """Claims one of Redis's numbered databases for this process; `release` gives it back."""

    def __init__(
        self,
        base_url: str,
        *,
        alive: Callable[[str], bool] = _alive,
        databases: range = DATABASES,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._claims = redis.Redis.from_url(f"{self._base_url}/0")
        self._alive = alive
        self._databases = databases
        self.owner = f"{socket.gethostname()} {os.getpid()} {uuid.uuid4().hex[:8]}"
        self.db: int | None = None

    def claim(self) -> str:
        """The URL of a database of this process's own, flushed; RuntimeError if none is free."""
        busy = self._connected_dbs()
        for db in self._databases:
            if db not in busy and self._take(db):
                self.db = db
                url = f"{self._base_url}/{db}"
                with redis.Redis.from_url(url) as fresh:  # closed: a connection marks it busy
                    fresh.flushdb()
                return url
        raise RuntimeError(
            f"no free Redis database in {self._databases}: other test "
            f"runs hold them (keys {_PREFIX}*) or clients are connected to them"
        )

    def release(self) -> None:
        if self.db is not None:
            self._claims.eval(_RELEASE, 1, f"{_PREFIX}{self.db}", self.owner)
            self.db = None
        self._claims.close()

    def _take(self, db: int) -> bool:
        key = f"{_PREFIX}{db}"
        if self._claims.set(key, self.owner, nx=True, ex=CLAIM_TTL_S):
            return True
        held = self._claims.get(key)
        if held is None:  # released between the two calls: try once more
            return bool(self._claims.set(key, self.owner, nx=True, ex=CLAIM_TTL_S))
        stale = held.decode() if isinstance(held, bytes) else str(held)
        if self._alive(stale):
            return False
        return bool(self._claims.eval(_TAKE_OVER, 1, key, stale, self.owner, CLAIM_TTL_S))

    def _connected_dbs(self) -> set[int]:
        """The databases some client is connected to now (this process holds none yet)."""
        return {int(c["db"]) for c in self._claims.client_list() if int(c.get("db", 0)) != 0}
