"""Who may do what: pushers and admins, given as user ids or user-group ids."""

from __future__ import annotations

from bot.domain.models import AppSpec
from bot.ports import Directory


class Access:
    """Answers 'may this user push this app?' from the catalog and the user directory."""

    def __init__(self, admins: tuple[str, ...], directory: Directory) -> None:
        self._admins = admins
        self._directory = directory

    def is_admin(self, user: str) -> bool:
        return self._member_of_any(user, self._admins)

    def may_push(self, user: str, app: AppSpec) -> bool:
        return self.is_admin(user) or self._member_of_any(user, app.pushers)

    def _member_of_any(self, user: str, principals: tuple[str, ...]) -> bool:
        for principal in principals:
            if principal == user:
                return True
            # Slack user-group ids start with S; anything else is a user id.
            if principal.startswith("S") and user in self._directory.members(principal):
                return True
        return False
