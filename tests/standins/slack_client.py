"""What Slack itself sends to the bot: signed slash commands, block actions and events."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests

JSON = dict[str, Any]

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "ecrbot-test"
APP_ID = "A0TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
# Deprecated verification token Slack still puts in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "vErIfIcAtIoNtOkEn0TEST"
OFFLINE_RESPONSE_URL = "https://hooks.slack.com/commands/T0TEST/1/standin"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_trigger_counter = itertools.count(1)


def _trigger_id() -> str:
    """A trigger_id shaped like Slack's."""
    return f"{next(_trigger_counter)}.{int(time.time())}.{uuid.uuid4().hex}"


def _channel_name(channel_id: str) -> str:
    """The channel name the stand-in world uses for an id."""
    return "platform" if channel_id == "C0PLATFORM" else channel_id.lower()


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0PLATFORM",
    channel_name: str | None = None,
    command: str = "/ecr",
    response_url: str = OFFLINE_RESPONSE_URL,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command (the form body over HTTP, the payload over Socket Mode)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0PLATFORM",
    message_ts: str = "1790000000.000100",
    response_url: str = OFFLINE_RESPONSE_URL,
    block_id: str = "actions",
    message: JSON | None = None,
    trigger_id: str | None = None,
) -> JSON:
    """A `block_actions` interactivity payload for a button click on a bot message."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": message
        or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": "",
            "ts": message_ts,
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def message_action_payload(
    callback_id: str,
    message: JSON,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0PLATFORM",
    response_url: str = OFFLINE_RESPONSE_URL,
) -> JSON:
    """A message shortcut (`message_action`), as in Slack's "Message shortcuts" reference."""
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "name": user_name},
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": _trigger_id(),
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def view_submission_payload(
    callback_id: str,
    values: JSON,
    *,
    view_id: str | None = None,
    private_metadata: str = "",
    user_id: str = "U0ALICE",
    user_name: str = "alice",
) -> JSON:
    """A modal's `view_submission`; `values` is view.state.values (block -> action -> value)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id or "V" + uuid.uuid4().hex[:10].upper(),
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": {"type": "plain_text", "text": "ecrbot"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": None,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def home_action_payload(action_id: str, value: str, *, user_id: str = "U0ALICE") -> JSON:
    """A button click on the App Home tab: a `view` container, no channel, no response_url."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "u", "name": "u", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": "VHOME" + user_id},
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": "VHOME" + user_id, "type": "home", "callback_id": "", "state": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "home-actions",
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def event_callback_body(event: JSON, *, event_id: str | None = None) -> JSON:
    """An Events API `event_callback` envelope around `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + uuid.uuid4().hex,
    }


class SlackSender:
    """Posts correctly signed Slack requests to the bot's /slack/events endpoint."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        response_urls: Callable[[str], str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/slack/events"
        self.signing_secret = signing_secret
        self.response_urls = response_urls
        self.timeout = timeout
        self.last_response_url: str | None = None
        self._names = itertools.count(1)

    def sign(self, body: bytes, timestamp: int) -> str:
        """Slack's v0 signature of body at timestamp."""
        base = f"v0:{timestamp}:".encode() + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> requests.Response:
        """POST a raw body, signed unless `signature` forges one."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else self.sign(body, ts),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return requests.post(self.url, data=body, headers=headers, timeout=self.timeout)

    def _response_url(
        self, kind: str, given: str | None, message: tuple[str, str] | None = None
    ) -> str:
        """The response_url to put in a payload: given, from the factory, or an offline one.
        A click's URL names the message clicked on (`--CHANNEL--TS`), as Slack's does: the
        stand-in's `replace_original` edits that message."""
        if given is not None:
            url = given
        elif self.response_urls is not None:
            where = f"--{message[0]}--{message[1]}" if message else ""
            url = self.response_urls(f"{kind}-{next(self._names)}{where}")
        else:
            url = OFFLINE_RESPONSE_URL
        self.last_response_url = url
        return url

    def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        channel_id: str = "C0PLATFORM",
        command: str = "/ecr",
        response_url: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """Send a slash command invocation, form-encoded like Slack."""
        fields = slash_command_payload(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            command=command,
            response_url=self._response_url("command", response_url),
            trigger_id=trigger_id,
        )
        return self.send(
            urlencode(fields).encode(),
            "application/x-www-form-urlencoded",
            timestamp=timestamp,
            signature=signature,
            retry_num=retry_num,
        )

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        channel_id: str = "C0PLATFORM",
        message_ts: str = "1790000000.000100",
        response_url: str | None = None,
        block_id: str = "actions",
        message: JSON | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """Send a button click as a `payload=<json>` interactivity request."""
        payload = block_actions_payload(
            action_id,
            value,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            message_ts=message_ts,
            response_url=self._response_url("action", response_url, (channel_id, message_ts)),
            block_id=block_id,
            message=message,
        )
        return self.send(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            timestamp=timestamp,
            signature=signature,
            retry_num=retry_num,
        )

    def event(
        self,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """Send an Events API `event_callback` as JSON."""
        body = json.dumps(event_callback_body(event, event_id=event_id)).encode()
        return self.send(
            body,
            "application/json",
            timestamp=timestamp,
            signature=signature,
            retry_num=retry_num,
        )

    def interaction(self, payload: JSON, *, retry_num: int | None = None) -> requests.Response:
        """Send any interactivity payload (shortcut, view submission...) as Slack does."""
        return self.send(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            retry_num=retry_num,
        )

    def message_shortcut(self, callback_id: str, message: JSON, **kwargs: Any) -> requests.Response:
        url = self._response_url("shortcut", None)
        return self.interaction(
            message_action_payload(callback_id, message, response_url=url, **kwargs)
        )

    def url_verification(self, challenge: str = "standin-challenge") -> requests.Response:
        """Send the Events API URL verification handshake."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.send(json.dumps(body).encode(), "application/json")
