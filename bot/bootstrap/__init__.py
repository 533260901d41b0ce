"""The composition root: the one place that picks concrete adapters from settings.

`services.py` builds a bot replica's or a worker's services, `cli.py` the terminal commands'
adapters, and `parts.py` what both build the same way (diagnose, reports, AWS facts).

Names are loaded on first use (PEP 562): `ecrbot diagnose` needs `cli.py` only, and importing
`services.py` with it would load Slack, Celery, SQLAlchemy and matplotlib for nothing (about
0.5 s of a CI job's `ecrbot diagnose`, measured with `python -X importtime`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.bootstrap.cli import CliAdapters, build_cli_adapters
    from bot.bootstrap.parts import aws_facts, build_diagnoser, build_reports
    from bot.bootstrap.services import Services, build_services, job_queue
    from bot.bootstrap.slack import slack_client

_WHERE = {
    "CliAdapters": "cli",
    "build_cli_adapters": "cli",
    "aws_facts": "parts",
    "build_diagnoser": "parts",
    "build_reports": "parts",
    "Services": "services",
    "build_services": "services",
    "job_queue": "services",
    "slack_client": "slack",
}

__all__ = [
    "CliAdapters",
    "Services",
    "aws_facts",
    "build_cli_adapters",
    "build_diagnoser",
    "build_reports",
    "build_services",
    "job_queue",
    "slack_client",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.bootstrap' has no attribute {name!r}")
    return getattr(import_module(f"bot.bootstrap.{module}"), name)
