"""manifest.yml is a valid Slack app manifest and declares what the bot uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.domain.commands import USAGES
from bot.render.ids import CallbackId

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests/data/slack-manifest-schema/manifest.schema.1.0.0.json"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest()), key=str)
    assert errors == [], [e.message for e in errors]


def test_manifest_declares_the_command_scopes_and_interactivity() -> None:
    data = manifest()
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert commands["/ecr"]["url"].endswith("/slack/events")
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "usergroups:read"} <= scopes
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert "socket_mode_enabled" in data["settings"]


def test_a_broken_manifest_is_caught() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "ecr"  # no leading slash
    broken["display_information"].pop("name")
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def slash_command_schema() -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text())
    items: dict[str, Any] = schema["definitions"]["app-manifests.v1.features.slash_commands"]
    return dict(items["items"]["properties"])


def test_events_go_to_the_same_url_as_interactivity() -> None:
    settings = manifest()["settings"]
    events = settings["event_subscriptions"]

    assert events["request_url"] == settings["interactivity"]["request_url"]
    assert events["request_url"].endswith("/slack/events")
    assert set(events["bot_events"]) == {
        "message.channels",
        "app_mention",
        "app_home_opened",
        "subteam_members_changed",  # user-group changes apply now (issue #18)
        "subteam_updated",
    }


def test_the_message_shortcut_and_the_home_tab_are_declared() -> None:
    features = manifest()["features"]
    shortcuts = {s["callback_id"]: s for s in features["shortcuts"]}

    # The callback id the handlers listen on (bot/render/ids.py) is the one Slack will send.
    shortcut = shortcuts[CallbackId.DIAGNOSE_MESSAGE.value]
    assert (shortcut["name"], shortcut["type"]) == ("Diagnose with ecrbot", "message")
    assert shortcut["description"]
    assert features["app_home"]["home_tab_enabled"] is True


@pytest.mark.parametrize("field", ["usage_hint", "description"])
def test_the_slash_command_names_every_subcommand(field: str) -> None:
    command = {c["command"]: c for c in manifest()["features"]["slash_commands"]}["/ecr"]
    text = command[field]
    limit = slash_command_schema()[field]["maxLength"]

    missing = [u.name for u in USAGES if not re.search(rf"\b{re.escape(u.name)}\b", text)]

    assert missing == [], f"/ecr's {field} does not name {missing}: {text!r}"
    assert len(text) <= limit


def test_the_long_description_mentions_triage_the_shortcut_and_app_home() -> None:
    text = manifest()["display_information"]["long_description"]

    assert "Triage" in text and "Diagnose with ecrbot" in text and "App Home" in text
