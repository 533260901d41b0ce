"""One console session: the real services and Bolt app, with Slack replaced by the console.

A line typed at the prompt becomes the form body Slack would POST for `/ecr <line>`, signed
with a per-session secret and dispatched to the Bolt app, so the same middleware, handlers,
authorization and job service run. The acknowledgement is the immediate reply; everything the
bot posts later (threads, edits, files) reaches the console Slack and is printed from there.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import shlex
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.bootstrap import Services, build_services
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.commands import USAGES
from bot.domain.matcher import first_match
from bot.entrypoints.app import build_app
from bot.entrypoints.console.printer import Printer
from bot.entrypoints.console.slack import TEAM, ConsoleSlack
from bot.render.ids import ActionId

CONSOLE_USER = "U0CONSOLE"
CONSOLE_CHANNEL = "C0CONSOLE"
EXIT = ("exit", "quit", "q")
# The first words that make a line a command; any other line is a chat message.
SUBCOMMANDS = frozenset({usage.name for usage in USAGES} | {"retry", "-h", "--help"})
QUIET_S = 3.0  # scripted input: the bot is done when Slack has been quiet this long


def default_user(catalog: Catalog) -> tuple[str, dict[str, list[str]]]:
    """The catalog's first admin; when that is a user group, a console user inside it."""
    admins = catalog.slack.admins
    if not admins:
        return CONSOLE_USER, {}
    if admins[0].startswith(("U", "W")):
        return admins[0], {}
    return CONSOLE_USER, {admins[0]: [CONSOLE_USER]}


class ConsoleSession:
    """The bot, driven from a terminal as one configured user."""

    def __init__(
        self,
        settings: Settings,
        printer: Printer,
        *,
        user: str | None = None,
        groups: tuple[str, ...] = (),
        members: Mapping[str, Sequence[str]] | None = None,
        push_unavailable: str | None = None,
    ) -> None:
        self._base = settings
        self.printer = printer
        self._user = user
        self._groups = groups
        self._members = {group: list(users) for group, users in (members or {}).items()}
        self.push_unavailable = push_unavailable
        self._secret = secrets.token_hex(16)
        self._token = "xoxb-console-" + secrets.token_hex(12)  # local only: the console Slack
        self._seq = itertools.count(1)
        self.user = user or CONSOLE_USER
        self.channel = CONSOLE_CHANNEL
        self.slack: ConsoleSlack | None = None
        self.services: Services | None = None
        self.app: App | None = None

    def start(self) -> None:
        """Start the console Slack, then build and start the real services on it."""
        from bot.config import load_catalog

        catalog = load_catalog(
            self._base.config_path, self._base.build_secrets_dir
        )  # ConfigError: the caller says why
        if self._user:
            self.user, members = self._user, dict(self._members)
        else:
            self.user, extra = default_user(catalog)
            members = {**self._members, **extra}
        for group in self._groups:
            members[group] = [*members.get(group, []), self.user]
        allowed = catalog.slack.allowed_channels
        self.channel = allowed[0] if allowed else CONSOLE_CHANNEL
        files = self._base.work_dir / "console-files"
        self.slack = ConsoleSlack(
            self.printer, self._token, files, members, self.printer.names
        ).start()
        settings = self._base.model_copy(
            update={
                "slack_bot_token": SecretStr(self._token),
                "slack_signing_secret": SecretStr(self._secret),
                "slack_app_token": None,
                "slack_api_url": self.slack.api_url,
            }
        )
        self.services = build_services(settings, catalog=catalog)
        self.app = build_app(self.services)
        self.services.start()

    def stop(self) -> None:
        if self.services is not None:
            self.services.stop()
            self.services = None
        if self.slack is not None:
            self.slack.stop()
            self.slack = None

    def app_names(self) -> list[str]:
        return sorted(self.services.catalog.apps) if self.services else []

    # -- commands --------------------------------------------------------------------------

    def run_line(self, line: str) -> bool:
        """Run one typed line; False when the user asked to leave."""
        text = line.strip()
        if text.startswith("/ecr"):
            text = text.removeprefix("/ecr").strip()
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        if not words:
            return True
        if words[0].lower() in EXIT:
            return False
        if words[0].lower() == "retry":
            return self._retry(words[1:])
        if words[0].lower() == "push" and self.push_unavailable:
            self.printer.error(self.push_unavailable)
            return True
        if words[0].lower() not in SUBCOMMANDS:
            self.say(line.strip())
            return True
        self.slash(text)
        return True

    def say(self, text: str) -> None:
        """Anything but a command is a message in the support channel, delivered as the Events
        API does; the bot's triage answers it in its thread when it shows a known error."""
        assert self.slack is not None
        ts = self.slack.next_ts()
        event = {"type": "message", "channel": self.channel, "user": self.user, "text": text}
        envelope = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "ACONSOLE",
            "event": {**event, "ts": ts, "event_ts": ts, "channel_type": "channel"},
            "event_id": "Ev" + uuid.uuid4().hex[:12].upper(),
            "event_time": int(time.time()),
        }
        status, body = self._dispatch(json.dumps(envelope), "application/json")
        if status != 200:
            self.printer.error(f"The bot answered HTTP {status}: {body[:200]}")
        elif first_match(text) is None:
            self.printer.note(
                "(a message, not a command: ecrbot answers messages that show a known error; "
                "`help` lists the commands)"
            )

    def slash(self, text: str) -> None:
        """`/ecr <text>` as Slack sends it: a signed form body, answered by the ack."""
        n = next(self._seq)
        fields = {
            "token": "console",
            "team_id": TEAM,
            "team_domain": "console",
            "channel_id": self.channel,
            "channel_name": "console",
            "user_id": self.user,
            "user_name": self.printer.names.get(self.user, self.user),
            "command": "/ecr",
            "text": text,
            "api_app_id": "ACONSOLE",
            "is_enterprise_install": "false",
            "response_url": self._response_url(f"command-{n}"),
            "trigger_id": f"{n}.{int(time.time())}.{uuid.uuid4().hex}",
        }
        self._show_ack(self._dispatch(urlencode(fields)))

    def _retry(self, args: list[str]) -> bool:
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            self.printer.error("Usage: retry <job>  (what the Retry button does)")
            return True
        self.click(ActionId.RETRY.value, args[0].lstrip("#"))
        return True

    def click(self, action_id: str, value: str) -> None:
        """A button click on a bot message, as a `block_actions` payload."""
        n = next(self._seq)
        parent = self.slack.parent_of_job(int(value)) if self.slack and value.isdigit() else None
        ts = parent.ts if parent else f"{int(time.time())}.000000"
        name = self.printer.names.get(self.user, self.user)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": self.user, "username": name, "name": name, "team_id": TEAM},
            "api_app_id": "ACONSOLE",
            "token": "console",
            "container": {"type": "message", "message_ts": ts, "channel_id": self.channel},
            "trigger_id": f"{n}.{int(time.time())}.{uuid.uuid4().hex}",
            "team": {"id": TEAM, "domain": "console"},
            "channel": {"id": self.channel, "name": "console"},
            "message": {"type": "message", "ts": ts, "text": "", "blocks": []},
            "state": {"values": {}},
            "response_url": self._response_url(f"action-{n}"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "actions",
                    "value": value,
                    "type": "button",
                    "text": {"type": "plain_text", "text": action_id},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        self._show_ack(self._dispatch(urlencode({"payload": json.dumps(payload)})))

    def _response_url(self, name: str) -> str:
        assert self.slack is not None
        return self.slack.response_url(name)

    def _dispatch(
        self, body: str, content_type: str = "application/x-www-form-urlencoded"
    ) -> tuple[int, str]:
        assert self.app is not None, "start() first"
        timestamp = str(int(time.time()))
        base = f"v0:{timestamp}:{body}".encode()
        signature = "v0=" + hmac.new(self._secret.encode(), base, hashlib.sha256).hexdigest()
        request = BoltRequest(
            body=body,
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": timestamp,
                "x-slack-signature": signature,
            },
        )
        response = self.app.dispatch(request)
        return response.status, response.body

    def _show_ack(self, answer: tuple[int, str]) -> None:
        status, body = answer
        if status != 200:
            self.printer.error(f"The bot answered HTTP {status}: {body[:200]}")
            return
        if not body:
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.printer.ephemeral(body)
            return
        self.printer.ephemeral(str(data.get("text") or ""), data.get("blocks") or [])

    # -- scripted input ---------------------------------------------------------------------

    def settle(self, timeout: float = 600.0) -> None:
        """Wait until no job is in flight and the bot has stopped talking to Slack."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            quiet = self.slack is None or time.monotonic() - self.slack.last_call > QUIET_S
            if quiet and not self.printer.active_jobs():
                return
            time.sleep(0.2)
