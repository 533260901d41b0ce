"""Configuration: the environment's settings, and loading the catalog with errors naming the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config_catalog import Catalog
from bot.config_dirs import WORK_DIR_ENV, user_data_dir
from bot.config_secrets import SECRETS_DIR
from bot.domain.bounded_yaml import Limits, TooBig, decode, load, strict_values
from bot.domain.errors import ConfigError

SLACK_API_DEFAULT = "https://slack.com/api/"

# The Celery queue of an app that names none (`queue:`), and of `ecrbot worker` by default.
DEFAULT_QUEUE = "ecrbot"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _setting(default: Any, env: str, description: str, **limits: Any) -> Any:
    """A setting read from `env`; the description feeds the README's reference table."""
    return Field(default, validation_alias=_env(env), description=description, **limits)


class Settings(BaseSettings):
    """Process settings from the environment; tokens stay SecretStr so they never print."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = _setting(
        None, "SLACK_BOT_TOKEN", "bot token (`xoxb-…`); required to serve"
    )
    slack_signing_secret: SecretStr | None = _setting(
        None, "SLACK_SIGNING_SECRET", "verifies Slack's HTTP requests; required in HTTP mode"
    )
    slack_app_token: SecretStr | None = _setting(
        None, "SLACK_APP_TOKEN", "app-level token (`xapp-…`); when set, the bot uses Socket Mode"
    )
    slack_api_url: str = _setting(SLACK_API_DEFAULT, "SLACK_API_URL", "Slack Web API base URL")
    config_path: Path = _setting(Path("ecrbot.yml"), "ECRBOT_CONFIG", "path to the catalog YAML")
    database_url: str = _setting(
        "sqlite:///ecrbot.db",
        "ECRBOT_DATABASE_URL",
        "SQLAlchemy URL of the job store, report history and schedule (`postgresql+psycopg://…`)",
    )
    port: int = _setting(3000, "PORT", "Slack's HTTP port: `/slack/events` and `/healthz`")
    # /readyz and /metrics say which dependencies fail and name every app: not for whoever can
    # reach the Slack port (issue #18), so they are served on a port of their own.
    ops_port: int = _setting(
        9100, "ECRBOT_OPS_PORT", "ops HTTP port: `/healthz`, `/readyz`, `/metrics`", ge=1
    )
    ops_host: str = _setting(
        "0.0.0.0",  # noqa: S104 (kubelet probes and Prometheus reach the pod's IP)
        "ECRBOT_OPS_HOST",
        "address the ops port binds (127.0.0.1: only this host)",
    )
    # Measured (benchmarks/bench_ack.py, 2 cores): 8 threads gave the best p99 under 50 requests
    # in flight; more threads only contend for the GIL while the worker builds.
    http_threads: int = _setting(8, "ECRBOT_HTTP_THREADS", "gunicorn threads (one process)", ge=1)
    # CPython passes the GIL to a waiting thread every 5 ms by default: a request thread that
    # wakes while a job, the outbox or the SQLite writer runs Python waits up to that long per
    # hand-over, several times per ack. bench_ack (issue #19), 2 cores, shared: 1 ms took the
    # cold rounds' paired p99 ratio from 2.0-2.8x to 1.3-1.4x; the warm rounds' moved less than
    # the machine's noise.
    switch_interval_ms: float = _setting(
        1.0, "ECRBOT_SWITCH_INTERVAL_MS", "how often threads take turns at the GIL (ms)", gt=0
    )
    workers: int = _setting(
        2, "ECRBOT_WORKERS", "builds at once (`celery`: across all workers)", ge=1, le=256
    )
    worker_backend: Literal["local", "celery"] = _setting(
        "local",
        "ECRBOT_WORKER_BACKEND",
        "`local`: builds in the bot's process; `celery`: on `ecrbot worker` processes",
    )
    broker_url: str | None = _setting(
        None, "ECRBOT_BROKER_URL", "Celery broker (`redis://…`, `amqp://…`); `celery` only"
    )
    # Never the working directory: `ecrbot push` runs inside an app's checkout, whose build
    # context would then carry the git mirrors and history. The image sets its volume.
    work_dir: Path = Field(
        default_factory=user_data_dir,
        validation_alias=_env(WORK_DIR_ENV),
        description="git mirrors, console history and scratch space",
    )
    aws_endpoint_url: str | None = _setting(
        None, "AWS_ENDPOINT_URL", "AWS endpoint (a stand-in such as moto); boto3 reads the rest"
    )
    docker_host: str | None = _setting(
        None, "DOCKER_HOST", "the Docker engine (default: local socket)"
    )
    docker_cli: str | None = _setting(
        None,
        "ECRBOT_DOCKER_CLI",
        "the `docker` CLI that runs BuildKit builds (default: the first on `PATH` that can: "
        "19.03 to 22.x, or newer with the buildx plugin)",
    )
    build_secrets_dir: Path | None = _setting(
        None,
        "ECRBOT_BUILD_SECRETS_DIR",
        "the only directory catalog `secrets: {file: …}` may name (e.g. a Kubernetes Secret "
        "mounted for builds); unset, file secrets are refused",
    )
    registry_ca_bundle: str | None = _setting(
        None,
        "ECRBOT_REGISTRY_CA_BUNDLE",
        "CA bundle for the registry API (private endpoints), also handed to skopeo for "
        "promotions (`--cert-dir`)",
    )
    github_token: SecretStr | None = _setting(
        None,
        "GITHUB_TOKEN",
        "token diagnose reads repositories' OIDC subject settings (template, `sub_claim_prefix`) "
        "and ids with (Actions OIDC settings and metadata: read); unset, the catalog's "
        "`oidc_subject_keys` or GitHub's default is used and both subject forms are tried",
    )
    github_api_url: str = _setting(
        "https://api.github.com",
        "GITHUB_API_URL",
        "GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`)",
    )
    drain_s: float = _setting(
        25.0,
        "ECRBOT_DRAIN_SECONDS",
        "on SIGTERM, how long running jobs may finish before they are marked interrupted",
        ge=0.0,
        le=3600.0,
    )
    progress_interval_s: float = _setting(
        2.0, "ECRBOT_PROGRESS_INTERVAL", "seconds between edits of a progress message", ge=0.0
    )
    approval_sweep_s: float = _setting(
        30.0,
        "ECRBOT_APPROVAL_SWEEP_SECONDS",
        "how often approval requests past their TTL are expired and told in their thread",
        ge=1.0,
        le=3600.0,
    )
    log_level: str = _setting("INFO", "ECRBOT_LOG_LEVEL", "log level")
    log_format: Literal["auto", "json", "text"] = _setting(
        "auto", "ECRBOT_LOG_FORMAT", "`json`, `text`, or `auto` (JSON unless stderr is a terminal)"
    )

    @field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "github_token", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @field_validator("build_secrets_dir", mode="before")
    @classmethod
    def _absolute_dir(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith("/"):
            raise ValueError("ECRBOT_BUILD_SECRETS_DIR must be an absolute path")
        return value

    @model_validator(mode="after")
    def _secrets_dir_holds_none_of_the_bots_own(self) -> Settings:
        if self.build_secrets_dir is not None and (problem := own_files_under(self)):
            raise ValueError(
                f"ECRBOT_BUILD_SECRETS_DIR={self.build_secrets_dir} holds {problem}: give builds "
                "a directory of their own (e.g. a Kubernetes Secret mounted only for them)"
            )
        return self

    @model_validator(mode="after")
    def _ops_port_is_not_the_slack_port(self) -> Settings:
        if self.ops_port == self.port:
            raise ValueError(
                f"ECRBOT_OPS_PORT ({self.ops_port}) must differ from PORT: /readyz and /metrics "
                "are not for whoever reaches the Slack port"
            )
        return self

    @model_validator(mode="after")
    def _celery_needs_a_broker_and_a_shared_database(self) -> Settings:
        if self.worker_backend != "celery":
            return self
        if not self.broker_url:
            raise ValueError("ECRBOT_WORKER_BACKEND=celery needs ECRBOT_BROKER_URL (redis://…)")
        if self.database_url.startswith("sqlite"):
            raise ValueError(
                "ECRBOT_WORKER_BACKEND=celery needs a database every process shares: set "
                "ECRBOT_DATABASE_URL to PostgreSQL (postgresql+psycopg://…)"
            )
        return self


# Where the bot's own credentials live on a host or pod: a build-secrets directory above any of
# them would let a catalog name them (the IRSA and service-account tokens, the process table).
CREDENTIAL_PLACES = (
    "/proc",
    "/var/run/secrets/kubernetes.io",
    "/run/secrets/kubernetes.io",
    "/var/run/secrets/eks.amazonaws.com",
    "/run/secrets/eks.amazonaws.com",
)


def own_files_under(settings: Settings) -> str | None:
    """What of the bot's own the build-secrets directory would expose, or None."""
    assert settings.build_secrets_dir is not None
    root = Path(os.path.realpath(settings.build_secrets_dir))
    own: dict[str, list[str | Path]] = {
        "the process table or a service-account token": list(CREDENTIAL_PLACES),
        "the work directory": [settings.work_dir],
        "the home directory (AWS and Docker credentials)": [Path.home()],
        "the catalog": [settings.config_path],
        "the database": [settings.database_url.removeprefix("sqlite:///")]
        if settings.database_url.startswith("sqlite:///")
        else [],
        "the IRSA web-identity token": [
            path for path in [os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")] if path
        ],
    }
    for what, paths in own.items():
        for path in paths:
            if Path(os.path.realpath(path)).is_relative_to(root):
                return what
    return None


class _CatalogLoader(yaml.SafeLoader):
    """YAML as safe_load reads it, with values an explicit tag can't read refused cleanly."""


strict_values(_CatalogLoader)
# A catalog is written by hand: generous bounds, there only so a mistake can't hang the bot.
CATALOG_LIMITS = Limits(file_bytes=4 * 1024 * 1024, depth=64, nodes=500_000)


def load_catalog(path: Path, secrets_dir: Path | None = None) -> Catalog:
    """Read and validate the catalog; errors name the key and say how to fix it.

    `secrets_dir` is ECRBOT_BUILD_SECRETS_DIR: without it, file secrets are refused."""
    try:
        raw = load(decode(path.read_bytes(), CATALOG_LIMITS), _CatalogLoader, CATALOG_LIMITS)
    except FileNotFoundError as error:
        raise ConfigError(
            f"catalog {path} not found: set ECRBOT_CONFIG to the catalog YAML "
            "(see README, 'Configuration')"
        ) from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"catalog {path} is not UTF-8 text (byte {error.start})") from error
    except TooBig as error:
        raise ConfigError(f"catalog {path} was refused: {error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"catalog {path} is not valid YAML: {_one_line(error)}") from error
    except (ValueError, RecursionError) as error:  # e.g. an int over Python's digit limit
        raise ConfigError(f"catalog {path}: a value can't be read ({error})") from error
    try:
        return Catalog.model_validate(raw or {}, context={SECRETS_DIR: secrets_dir})
    except ValidationError as error:
        raise ConfigError(format_errors(path, error)) from error


def format_errors(path: Path, error: ValidationError) -> str:
    """One line per problem: the dotted key, what is wrong, and the fix."""
    lines = [f"catalog {path} has {error.error_count()} problem(s):"]
    for problem in error.errors():
        key = ".".join(_printable(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  - {key}: {_one_line(problem['msg'])}{_hint(problem['type'], key)}")
    return "\n".join(lines)


def _printable(part: object) -> str:
    """A key as it can be printed on one line: line breaks and escapes shown, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(part))[:200]


def _one_line(problem: object) -> str:
    return " ".join(_printable(line) for line in str(problem).splitlines())


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
