"""manifest.yml grants exactly the bot scopes that the code's Slack Web API calls need.

Nothing here lists the methods the bot calls: they are derived from the code. Every .py file
under bot/ and handlers/ is parsed, and each attribute call whose name is a slack_sdk WebClient
Web API method (``chat_postMessage``, ``files_upload_v2``, ...) is resolved to the API methods it
sends by reading that WebClient method's source: ``api_call("chat.postMessage", ...)``, and the
WebClient methods it calls in turn (``files_upload_v2`` -> ``files_getUploadURLExternal`` and
``files_completeUploadExternal``). The scopes come from tests/data/slack/method_scopes.json, the
table the Slack stand-in enforces. The manifest's bot events need scopes too
(tests/data/slack/event_scopes.json): a scope only an event needs is used, not spare.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.web.client import WebClient

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("bot", "handlers")
SCOPES_FILE = ROOT / "tests/data/slack/method_scopes.json"
EVENT_SCOPES_FILE = ROOT / "tests/data/slack/event_scopes.json"
SLASH_COMMAND_SCOPE = "commands"

# api_call( "chat.postMessage" ...), allowing comment lines between the parenthesis and the name.
API_CALL = re.compile(r'api_call\(\s*(?:#[^\n]*\n\s*)*"([^"]+)"')
SELF_CALL = re.compile(r"\bself\.([A-Za-z]\w*)\(")

Uses = dict[str, list[str]]  # Web API method -> where the code calls it


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def granted_scopes() -> list[str]:
    return [str(scope) for scope in manifest()["oauth_config"]["scopes"]["bot"]]


def scope_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCOPES_FILE.read_text())
    return data


def method_scopes(table: Mapping[str, Any]) -> dict[str, list[str]]:
    return {name: list(scopes) for name, scopes in table.items() if not name.startswith("_")}


def event_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EVENT_SCOPES_FILE.read_text())
    return data


def bot_events() -> list[str]:
    subscriptions = manifest().get("settings", {}).get("event_subscriptions", {})
    return [str(event) for event in subscriptions.get("bot_events", [])]


def event_scopes(events: Iterable[str], table: Mapping[str, Any]) -> dict[str, list[str]]:
    """Subscribed bot event -> the scopes that allow it (any one; [] when none is needed)."""
    scopes = method_scopes(table)
    return {event: scopes.get(event, []) for event in events}


@functools.cache
def web_client_methods() -> frozenset[str]:
    """WebClient's own public methods: one per Web API method, plus helpers like
    files_upload_v2 (BaseClient's plumbing, api_call included, is not among them)."""
    return frozenset(
        name
        for name, value in vars(WebClient).items()
        if not name.startswith("_") and callable(value) and hasattr(WebClient, name)
    )


@functools.cache
def api_methods_of(name: str) -> frozenset[str]:
    """The Web API methods WebClient.<name> sends, following its calls to other WebClient
    methods (files_upload_v2 sends nothing itself)."""
    source = inspect.getsource(getattr(WebClient, name))
    found = set(API_CALL.findall(source))
    for callee in SELF_CALL.findall(source):
        if callee != name and callee in web_client_methods():
            found |= api_methods_of(callee)
    return frozenset(found)


def code_uses(dirs: Iterable[str] = CODE_DIRS) -> Uses:
    """Web API method -> the call sites ("path:line via name") in the code that send it."""
    uses: Uses = {}
    for directory in dirs:
        for path in sorted((ROOT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            where = path.relative_to(ROOT)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                name = node.func.attr
                site = f"{name} at {where}:{node.lineno}"
                if name == "api_call" and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        uses.setdefault(first.value, []).append(site)
                    continue
                if name not in web_client_methods():
                    continue
                methods = api_methods_of(name)
                assert methods, f"cannot tell which Web API methods WebClient.{name} ({site}) sends"
                for method in methods:
                    uses.setdefault(method, []).append(site)
    return uses


def missing_scopes(uses: Uses, table: Mapping[str, Any], granted: Iterable[str]) -> list[str]:
    """One line per called method whose scope the manifest does not grant."""
    scopes = method_scopes(table)
    have = set(granted)
    problems = []
    for method in sorted(uses):
        via = "; ".join(uses[method])
        if method not in scopes:
            problems.append(
                f"{method} (called via {via}) has no entry in {SCOPES_FILE.relative_to(ROOT)}: "
                "look its bot scopes up on docs.slack.dev and add them"
            )
            continue
        acceptable = scopes[method]
        if acceptable and not have & set(acceptable):
            need = acceptable[0] if len(acceptable) == 1 else "one of " + ", ".join(acceptable)
            problems.append(f"{method} needs {need} (called via {via})")
    return problems


def unused_scopes(
    uses: Uses,
    table: Mapping[str, Any],
    granted: Iterable[str],
    slash_commands: bool,
    events: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Granted scopes that no called method, subscribed event (nor the slash command) needs."""
    scopes = method_scopes(table)
    used = {SLASH_COMMAND_SCOPE} if slash_commands else set()
    for event_needs in (events or {}).values():
        used |= set(event_needs)
    for method in uses:
        used |= set(scopes.get(method, ()))
    modifiers: dict[str, Any] = table.get("_modifiers", {})
    for scope, modifier in modifiers.items():
        if set(modifier["methods"]) & set(uses):
            used.add(scope)
    return [scope for scope in granted if scope not in used]


def test_the_derivation_finds_the_methods_the_bot_relies_on() -> None:
    uses = code_uses()

    assert {
        "chat.postMessage",
        "chat.update",
        "usergroups.users.list",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    } <= set(uses), sorted(uses)
    assert api_methods_of("files_upload_v2") == {
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
    assert api_methods_of("chat_postMessage") == {"chat.postMessage"}
    assert any("slack_files.py" in site for site in uses["files.completeUploadExternal"])
    assert any("slack_files.py" in site for site in uses["conversations.join"])


def test_the_manifest_grants_every_scope_the_code_needs() -> None:
    problems = missing_scopes(code_uses(), scope_table(), granted_scopes())

    assert problems == [], (
        "manifest.yml (oauth_config.scopes.bot) lacks scopes the code needs:\n  "
        + "\n  ".join(problems)
        + f"\nIt grants: {', '.join(granted_scopes())}"
    )


def test_the_manifest_grants_no_scope_the_code_does_not_use() -> None:
    slash_commands = bool(manifest()["features"].get("slash_commands"))

    events = event_scopes(bot_events(), event_table())

    unused = unused_scopes(code_uses(), scope_table(), granted_scopes(), slash_commands, events)

    assert unused == [], (
        f"manifest.yml grants bot scopes no Web API call of bot/ or handlers/ nor any subscribed "
        f"event needs: {unused}; the code calls {sorted(code_uses())}, the events are {events}"
    )


def test_the_checks_name_the_method_and_the_scope() -> None:
    uses = {
        "files.completeUploadExternal": ["files_upload_v2 at bot/x.py:1"],
        "chat.update": ["chat_update at bot/y.py:2"],
        "reactions.remove": ["reactions_remove at bot/z.py:3"],
    }
    table = scope_table()

    problems = missing_scopes(uses, table, ["commands", "chat:write"])
    unused = unused_scopes(
        uses, table, ["commands", "chat:write", "chat:write.public", "users:read"], True
    )

    assert problems[0] == (
        "files.completeUploadExternal needs files:write (called via files_upload_v2 at bot/x.py:1)"
    )
    assert problems[1].startswith("reactions.remove (called via reactions_remove at bot/z.py:3)")
    assert len(problems) == 2
    # chat:write.public only widens chat.postMessage, which these uses do not call.
    assert unused == ["chat:write.public", "users:read"]


def test_every_subscribed_bot_event_has_its_scope_granted() -> None:
    table = method_scopes(event_table())
    granted = set(granted_scopes())
    events = bot_events()

    unknown = [event for event in events if event not in table]
    missing = [
        f"{event} needs {' or '.join(needs)}"
        for event, needs in event_scopes(events, event_table()).items()
        if needs and not granted & set(needs)
    ]

    assert {"message.channels", "app_mention", "app_home_opened"} <= set(events)
    assert unknown == [], (
        f"bot events without an entry in {EVENT_SCOPES_FILE.relative_to(ROOT)}: {unknown}; "
        "look their required scopes up on docs.slack.dev and add them"
    )
    assert missing == [], f"manifest.yml lacks the scopes its bot events need: {missing}"


def test_the_event_table_cites_a_source_for_every_event() -> None:
    data = event_table()
    sources: dict[str, Any] = data["_sources"]

    assert set(sources) == set(method_scopes(data))
    for event, source in sources.items():
        assert str(source["url"]).startswith("https://"), event
        assert source["confirmed"], event


def test_a_scope_only_an_event_needs_is_not_unused() -> None:
    events = {"app_mention": ["app_mentions:read"], "app_home_opened": []}

    unused = unused_scopes({}, scope_table(), ["commands", "app_mentions:read"], True, events)
    without = unused_scopes({}, scope_table(), ["commands", "app_mentions:read"], True)

    assert unused == []
    assert without == ["app_mentions:read"]
