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


# -- build settings (issue #11) -------------------------------------------------------------


def with_build(settings: str) -> str:
    return GOOD + "".join(f"    {line}\n" for line in settings.strip().splitlines())


def test_build_settings_reach_the_app(tmp_path: Path) -> None:
    text = with_build(
        "target: release\nbuild_args: {NODE_ENV: production, AUTHOR: me}\n"
        "secrets: {npm: {env: ECRBOT_BUILD_SECRET_NPM}, pip: {file: pip}}\n"
        "platforms: [linux/arm64]\nregistry_cache: false"
    )
    secrets = tmp_path / "build-secrets"
    secrets.mkdir()
    app = load_catalog(write(tmp_path, text), secrets).app("my-app")
    assert app is not None
    build = app.build
    assert (build.builder, build.target, build.platforms) == (
        "buildkit",
        "release",
        ("linux/arm64",),
    )
    assert build.build_args == (("NODE_ENV", "production"), ("AUTHOR", "me"))
    assert [(s.id, s.env, s.file) for s in build.secrets] == [
        ("npm", "ECRBOT_BUILD_SECRET_NPM", None),
        ("pip", None, str(secrets.resolve() / "pip")),  # resolved: what BuildKit gets
    ]
    assert build.registry_cache is False


def test_builds_default_to_buildkit_with_the_registry_cache(tmp_path: Path) -> None:
    app = load_catalog(write(tmp_path, GOOD)).app("my-app")
    assert app is not None and app.build.builder == "buildkit" and app.build.registry_cache


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ("build_args: {NPM_TOKEN: x}", "`NPM_TOKEN` looks like a secret"),
        ("build_args: {GITHUB_PAT: x}", "looks like a secret"),
        ("build_args: {SSH_KEY: x}", "looks like a secret"),
        ("build_args: {DB_PASSWORD: x}", "looks like a secret"),
        ("build_args: {EXTRA: ghp_0123456789abcdefghij0123456789}", "shaped like a credential"),
        ("build_args: {EXTRA: AKIAABCDEFGHIJKLMNOP}", "shaped like a credential"),
        ("build_args: {GIT_SHA: main}", "set by ecrbot itself"),
        ("build_args: {BUILDKIT_INLINE_CACHE: '0'}", "set by ecrbot itself"),
        ("secrets: {npm: {env: SLACK_BOT_TOKEN}}", "one of ecrbot's own variables"),
        ("secrets: {aws: {env: AWS_SECRET_ACCESS_KEY}}", "one of ecrbot's own variables"),
        ("secrets: {npm: {}}", "exactly one of `env`"),
        ("secrets: {npm: {env: NPM_TOKEN}}", "does not start with `ECRBOT_BUILD_SECRET_`"),
        ("secrets: {npm: {file: /run/secrets/npm}}", "set ECRBOT_BUILD_SECRETS_DIR"),
        (
            "builder: classic\nsecrets: {npm: {env: ECRBOT_BUILD_SECRET_NPM}}",
            "`secrets` need BuildKit",
        ),
        ("platforms: [arm64]", "is not a platform"),
        ("target: 'a b'", "apps.my-app.target"),
    ],
)
def test_build_settings_that_would_leak_or_cannot_work_are_refused(
    tmp_path: Path, settings: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        load_catalog(write(tmp_path, with_build(settings)))
    assert says in str(raised.value)
    assert "ghp_0123" not in str(raised.value) and "AKIAABCD" not in str(raised.value)
