"""`ecrbot worker`: a Celery worker that runs pushes (ECRBOT_WORKER_BACKEND=celery).

It builds the same services as the bot (one composition root), takes `ecrbot.dispatch` tasks
from its queues, runs the pipeline on its own Docker engine and posts progress to Slack itself.
/healthz, /readyz and /metrics are served on PORT, as in Socket Mode.
"""

from __future__ import annotations

import logging
import socket

from bot.bootstrap import build_services
from bot.config import Settings
from bot.entrypoints.server import ops_server
from bot.runtime.celery_queue import DEFAULT_QUEUE, CeleryQueue

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    name: str | None = None,
    queues: list[str] | None = None,
    concurrency: int = 1,
) -> int:
    if settings.worker_backend != "celery":
        raise SystemExit("ecrbot worker needs ECRBOT_WORKER_BACKEND=celery (and a broker URL).")
    name = name or f"ecrbot@{socket.gethostname()}"
    services = build_services(settings, worker_name=name)
    queue = services.jobs.worker
    assert isinstance(queue, CeleryQueue)
    queue.serve_tasks()
    services.start(schedule=False)
    ops = ops_server(services, settings.port)
    queues = queues or [DEFAULT_QUEUE]
    worker = queue.celery.Worker(
        hostname=name,
        queues=queues,
        concurrency=concurrency,
        pool="threads",  # one process: one set of services, one Slack outbox, one engine client
        loglevel=settings.log_level,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,  # liveness is the database heartbeat (celery_queue)
    )
    log.info(
        "worker %s taking %s, %d build(s) at once", name, queues or [DEFAULT_QUEUE], concurrency
    )
    try:
        worker.start()  # until SIGTERM (warm: running builds finish) or SIGQUIT
    finally:
        ops.shutdown()
        services.stop(grace_s=0.0)
    return int(worker.exitcode or 0)
