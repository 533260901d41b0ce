"""`ecrbot worker`: a Celery worker that runs pushes (ECRBOT_WORKER_BACKEND=celery).

It builds the same services as the bot (one composition root), takes `ecrbot.dispatch` tasks
from its queues, runs the pipeline on its own Docker engine and posts progress to Slack itself.
/healthz, /readyz and /metrics are served on PORT, as in Socket Mode.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

from pydantic import ValidationError

from bot.bootstrap import build_services
from bot.config import DEFAULT_QUEUE, Settings
from bot.domain.errors import ConfigError, SchemaError
from bot.entrypoints.server import ops_server
from bot.runtime.logs import configure

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
    services = build_services(settings, worker_name=name)  # checks the `celery` extra first
    from bot.runtime.celery_queue import CeleryQueue

    queue = services.jobs.worker
    assert isinstance(queue, CeleryQueue)
    queue.serve_tasks()
    services.start(schedule=False)
    ops = ops_server(services)
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


def main(argv: list[str]) -> int:
    """`ecrbot worker [--name NAME] [--queues a,b] [--concurrency N]`."""
    parser = argparse.ArgumentParser(
        prog="ecrbot worker",
        description="Run pushes from the Celery queue (ECRBOT_WORKER_BACKEND=celery).",
    )
    parser.add_argument("--name", help="this worker's name in jobs (default: ecrbot@HOSTNAME)")
    parser.add_argument(
        "--queues",
        default=DEFAULT_QUEUE,
        help=f"comma-separated queues to take jobs from (default: {DEFAULT_QUEUE})",
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="builds at once on this worker (default: 1)"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    queues = [queue.strip() for queue in args.queues.split(",") if queue.strip()]
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"ecrbot worker: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    try:
        return run_worker(settings, args.name, queues, args.concurrency)
    except (ConfigError, SchemaError) as error:
        print(f"ecrbot worker: {error}", file=sys.stderr)
        return 2
