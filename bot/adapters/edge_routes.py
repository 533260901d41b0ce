"""The test ECR edge's control API (`tests/standins/ecr_edge.py`): which moto answers for which
repositories. The console sandbox routes its own repositories to its own moto."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from urllib.parse import quote

import requests


class EdgeRoutes:
    """PUT and DELETE on the edge's `/routes/<repository>`."""

    def __init__(self, control_url: str) -> None:
        self._control = control_url.rstrip("/")

    def route(self, repositories: list[str], endpoint_url: str) -> Callable[[], None]:
        """Send the edge's questions about these repositories to this moto; returns the undo."""
        for name in repositories:
            self._call("PUT", name, endpoint_url)

        def undo() -> None:
            for name in repositories:
                # The edge went away first: nothing left to undo.
                with contextlib.suppress(requests.RequestException):
                    self._call("DELETE", name)

        return undo

    def _call(self, method: str, repository: str, endpoint: str | None = None) -> None:
        body = {"aws_endpoint": endpoint} if endpoint else None
        url = f"{self._control}/routes/{quote(repository, safe='')}"
        requests.request(method, url, json=body, timeout=5).raise_for_status()
