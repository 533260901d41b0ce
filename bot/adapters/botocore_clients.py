"""Diagnose's botocore sessions, sharing one loader per process, made on first use.

botocore's loader keeps what a client is made from (the services' models, endpoints.json's
1.2 MB of JSON), so with one loader every client after the first of its service costs only
itself, and the bot's next diagnose reuses them all (each diagnose still has its own session,
so its credentials are resolved as they are now). The loader is told the services diagnose asks
for: botocore's own lists every service directory it ships (about 420) for each kind of file it
loads (a model, endpoint rules, paginators) to check that a name is known, 0.01 s of CPU each,
three per `ecrbot diagnose`.
"""

from __future__ import annotations

import os
import threading

import botocore.session
from botocore.loaders import Loader, create_loader

# What AwsFacts reads (aws_facts.py, iam_facts.py, aws_org.py, ecr_features.py). A service
# missing here fails on its first client with botocore's UnknownServiceError, in every test.
SERVICES = frozenset({"ecr", "iam", "organizations", "sts"})

_loader: Loader | None = None
_guard = threading.Lock()


class KnownServices(Loader):  # type: ignore[misc]
    """botocore's loader that looks only for `services` when asked which services exist."""

    def __init__(self, services: frozenset[str], search_paths: list[str]) -> None:
        super().__init__(extra_search_paths=search_paths, include_default_search_paths=False)
        self._services = services

    def list_available_services(self, type_name: str) -> list[str]:
        """The `services` that have a `type_name` file, as botocore's own method finds them."""
        found = set()
        for path in self.search_paths:
            for service in self._services:
                where = os.path.join(path, service)
                if os.path.isdir(where) and any(
                    self.file_loader.exists(os.path.join(where, version, type_name))
                    for version in os.listdir(where)
                ):
                    found.add(service)
        return sorted(found)


def session() -> botocore.session.Session:
    """A new botocore session (its own credentials) on the process's loader."""
    global _loader
    made = botocore.session.get_session()
    with _guard:
        if _loader is None:
            default = create_loader(made.get_config_variable("data_path"))
            _loader = KnownServices(SERVICES, list(default.search_paths))
    made.register_component("data_loader", _loader)
    return made
