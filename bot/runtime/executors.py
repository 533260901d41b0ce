"""Every thread pool of a process, named and sized in one place by one policy.

Pushes, diagnoses and reports all run off Slack's request threads; how many of each run at once
is decided here (`Concurrency`), and every pool's threads carry its name (`ecrbot-<name>-N`),
so a thread dump or py-spy says which kind of work each thread does. The embedded worker's
build threads are sized by the same policy (`builds`).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Concurrency:
    """What runs at once in one process."""

    builds: int = 2  # pushes (ECRBOT_WORKERS); with Celery, across the fleet
    diagnoses: int = 2  # /ecr diagnose runs; more wait their turn
    reports: int = 1  # report builds (scheduled, /ecr report, previews)
    checks: int = 4  # one diagnose's concurrent reads (git, Docker, AWS)
    aws_calls: int = 8  # AWS calls in flight for one snapshot
    aws_fanout: int = 8  # one lookup's independent reads (a role's policies, each key user)
    aws_leaves: int = 8  # a fan-out read's own (a key user's inline, managed and group policies)
    registry_reads: int = 8  # a report's repositories read at once (ECR's throttling)
    registries: int = 4  # a report's other registries read at once, each on `registry_reads`
    notices: int = 1  # "waiting behind job N" notices, off the enqueuing thread
    triage: int = 2  # support messages matched against known errors, off the ack path
    home: int = 2  # App Home views and the push form's commit check (a git fetch)
    promotions: int = 2  # /ecr promote copies (skopeo); more wait their turn


class Executors:
    """The process's pools. `shutdown()` when the process stops (Services.stop, the terminal
    commands, the worker): the pools' threads would otherwise keep it alive past its work."""

    def __init__(self, policy: Concurrency) -> None:
        self.policy = policy
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._guard = threading.Lock()
        self._closed = False

    def pool(self, name: str) -> ThreadPoolExecutor:
        """The pool for one kind of work (a field of `Concurrency`), made on first use."""
        sizes = asdict(self.policy)
        if name not in sizes:
            raise KeyError(f"no concurrency policy for {name!r}")
        with self._guard:
            if self._closed:  # a pool made now would never be shut down
                raise RuntimeError(f"pool {name!r} asked for after shutdown()")
            if name not in self._pools:
                self._pools[name] = ThreadPoolExecutor(
                    max_workers=sizes[name], thread_name_prefix=f"ecrbot-{name}"
                )
            return self._pools[name]

    @property
    def closed(self) -> bool:
        with self._guard:
            return self._closed

    def shutdown(self) -> None:
        """Cancel what waits in every pool and let their threads end; running work finishes."""
        with self._guard:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
