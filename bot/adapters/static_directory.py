"""A fixed map of Slack user groups to members (the CLI, the console and tests), apart from the
Slack reader: `ecrbot promote` needs it and not slack_sdk (0.05 s of imports)."""

from __future__ import annotations

from collections.abc import Mapping


class StaticDirectory:
    """A fixed map of group -> members, for the CLI, the console and tests."""

    def __init__(self, groups: Mapping[str, frozenset[str]] | None = None) -> None:
        self._groups = dict(groups or {})

    def members(self, group_id: str) -> frozenset[str]:
        return self._groups.get(group_id, frozenset())
