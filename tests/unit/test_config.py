"""The catalog: defaults, and errors that name the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, load_catalog
from bot.domain.errors import ConfigError

GOOD = """
registry: {account_id: "123456789012", region: eu-west-2}
slack: {channel: C0PLATFORM, admins: [S0PLATFORM]}
apps:
  my-app:
    source: https://github.com/acme/my-app.git
    role: arn:aws:iam::123456789012:role/gha-my-app
    pushers: [S0APPTEAM]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ecrbot.yml"
    path.write_text(text)
    return path


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, GOOD))
    app = catalog.app("my-app")
    assert app is not None
    assert (app.repository, app.dockerfile, app.context, app.branch) == (
        "my-app",
        "Dockerfile",
        ".",
        "main",
    )
    assert app.github == "acme/my-app"
    assert app.sha_tag == "full" and app.tag_latest is False
    assert catalog.registry_spec.region == "eu-west-2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('"123456789012"', "12345"), "registry.account_id"),
        (GOOD.replace("pushers:", "pusher:"), "apps.my-app.pusher: Extra inputs"),
        (
            GOOD.replace("    source: https://github.com/acme/my-app.git\n", ""),
            "apps.my-app.source",
        ),
        (GOOD.replace("role: arn:aws:iam::123456789012:role/gha-my-app", "role: gha"), "role"),
        (GOOD + "    sha_tag: medium\n", "apps.my-app.sha_tag"),
        ("registry: [", "not valid YAML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, text))
    assert expected in str(caught.value)


def test_missing_catalog_says_which_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ECRBOT_CONFIG"):
        load_catalog(tmp_path / "nope.yml")


def test_settings_read_the_contract_variables_and_hide_tokens() -> None:
    settings = Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-value",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "ECRBOT_DATABASE_URL": "sqlite:///x.db",
            "PORT": "4000",
        }
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.port == 4000 and settings.socket_mode is False
    assert "xoxb-secret-value" not in repr(settings)


def test_the_example_catalog_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    catalog = load_catalog(root / "ecrbot.example.yml")
    app = catalog.app("my-app")
    assert app is not None and catalog.report.schedule == "0 9 * * 1"
    assert catalog.apps["my-app"].risk == "high"


def test_report_schedule_and_timezone_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"report\.schedule"):
        load_catalog(write(tmp_path, GOOD + 'report: {schedule: "every monday"}\n'))
    with pytest.raises(ConfigError, match=r"report\.timezone"):
        load_catalog(write(tmp_path, GOOD + "report: {timezone: Mars/Olympus}\n"))
