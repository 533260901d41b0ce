"""The composition root: the one place that picks concrete adapters from settings.

`services.py` builds a bot replica's or a worker's services, `cli.py` the terminal commands'
adapters, and `parts.py` what both build the same way (diagnose, reports, AWS facts).
"""

from bot.bootstrap.cli import CliAdapters, build_cli_adapters
from bot.bootstrap.parts import aws_facts, build_diagnoser, build_reports
from bot.bootstrap.services import Services, build_services, job_queue, slack_client

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
