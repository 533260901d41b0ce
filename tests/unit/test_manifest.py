"""manifest.yml is a valid Slack app manifest and declares what the bot uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

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
