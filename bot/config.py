"""Configuration: environment settings and the apps catalog (YAML), validated at start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.errors import ConfigError
from bot.domain.models import AppSpec, RegistrySpec

SLACK_API_DEFAULT = "https://slack.com/api/"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Process settings from the environment; tokens stay SecretStr so they never print."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(SLACK_API_DEFAULT, validation_alias=_env("SLACK_API_URL"))
    config_path: Path = Field(Path("ecrbot.yml"), validation_alias=_env("ECRBOT_CONFIG"))
    database_url: str = Field("sqlite:///ecrbot.db", validation_alias=_env("ECRBOT_DATABASE_URL"))
    port: int = Field(3000, validation_alias=_env("PORT"))
    # Measured (benchmarks/bench_ack.py, 2 cores): 8 threads gave the best p99 under 50 requests
    # in flight; more threads only contend for the GIL while the worker builds.
    http_threads: int = Field(8, ge=1, validation_alias=_env("ECRBOT_HTTP_THREADS"))
    workers: int = Field(2, ge=1, le=32, validation_alias=_env("ECRBOT_WORKERS"))
    work_dir: Path = Field(Path(".ecrbot"), validation_alias=_env("ECRBOT_WORK_DIR"))
    aws_endpoint_url: str | None = Field(None, validation_alias=_env("AWS_ENDPOINT_URL"))
    docker_host: str | None = Field(None, validation_alias=_env("DOCKER_HOST"))
    registry_ca_bundle: str | None = Field(None, validation_alias=_env("ECRBOT_REGISTRY_CA_BUNDLE"))
    progress_interval_s: float = Field(
        2.0, ge=0.0, validation_alias=_env("ECRBOT_PROGRESS_INTERVAL")
    )
    log_level: str = Field("INFO", validation_alias=_env("ECRBOT_LOG_LEVEL"))
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", validation_alias=_env("ECRBOT_LOG_FORMAT")
    )

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")


class SlackConfig(_Strict):
    channel: str | None = None
    channels: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    restrict_to_channels: bool = False

    @property
    def allowed_channels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(([self.channel] if self.channel else []) + list(self.channels)))


class AppConfig(_Strict):
    source: str
    repository: str | None = Field(None, pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
    dockerfile: str = "Dockerfile"
    context: str = "."
    branch: str = "main"
    github: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    role: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    pushers: tuple[str, ...] = ()
    sha_tag: Literal["full", "short"] = "full"
    tag_latest: bool = False
    risk: Literal["low", "medium", "high"] | None = None
    owner: str | None = None  # Slack user-group or user id; default: the first of pushers


class ReportConfig(_Strict):
    schedule: str = "0 9 * * 1"  # cron: minute hour day-of-month month day-of-week
    timezone: str = "UTC"
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("five cron fields: minute hour day month weekday, e.g. '0 9 * * 1'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}, e.g. 'Europe/London'") from error
        return value


class Catalog(_Strict):
    """The catalog file: the registry, the Slack channel and admins, and the apps."""

    registry: RegistryConfig
    slack: SlackConfig = SlackConfig()
    report: ReportConfig = ReportConfig()
    apps: dict[str, AppConfig] = {}

    @model_validator(mode="after")
    def _app_names(self) -> Catalog:
        for name in self.apps:
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
                raise ValueError(f"app name `{name}` must be lowercase letters, digits, . _ -")
        return self

    @property
    def registry_spec(self) -> RegistrySpec:
        return RegistrySpec(self.registry.account_id, self.registry.region)

    def app(self, name: str) -> AppSpec | None:
        config = self.apps.get(name)
        if config is None:
            return None
        return AppSpec(
            name=name,
            source=config.source,
            repository=config.repository or name,
            dockerfile=config.dockerfile,
            context=config.context,
            branch=config.branch,
            github=config.github or github_from_source(config.source),
            role=config.role,
            pushers=config.pushers,
            sha_tag=config.sha_tag,
            tag_latest=config.tag_latest,
        )


def github_from_source(source: str) -> str | None:
    """`acme/my-app` from https://github.com/acme/my-app.git or git@github.com:acme/my-app."""
    match = re.search(r"github\.com[/:]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", source)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog; errors name the key and say how to fix it."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise ConfigError(
            f"catalog {path} not found: set ECRBOT_CONFIG to the catalog YAML "
            "(see README, 'Configuration')"
        ) from error
    except yaml.YAMLError as error:
        raise ConfigError(f"catalog {path} is not valid YAML: {error}") from error
    try:
        return Catalog.model_validate(raw or {})
    except ValidationError as error:
        raise ConfigError(format_errors(path, error)) from error


def format_errors(path: Path, error: ValidationError) -> str:
    """One line per problem: the dotted key, what is wrong, and the fix."""
    lines = [f"catalog {path} has {error.error_count()} problem(s):"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  - {key}: {problem['msg']}{_hint(problem['type'], key)}")
    return "\n".join(lines)


def _hint(kind: str, key: str) -> str:
    hints = {
        "extra_forbidden": " - remove it or check its spelling against the README's catalog keys",
        "missing": " - add it (see the README's catalog example)",
        "string_pattern_mismatch": " - see the README for the expected format",
        "literal_error": "",
    }
    if key.endswith("account_id") and kind != "missing":
        return ' - a 12-digit AWS account id, quoted in YAML: account_id: "123456789012"'
    return hints.get(kind, "")
