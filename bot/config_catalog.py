"""The catalog's models: registry, Slack rules, report schedule and apps, every key validated."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bot.config_release import (
    ROLE_ARN,
    EnvironmentConfig,
    NamedRegistryConfig,
    check_environments,
    environments,
    named_registries,
)
from bot.config_secrets import SecretConfig
from bot.domain.access import NEVER_EVERYONE, Action, Audience, ChannelRule, Limit
from bot.domain.build_rules import (
    PLATFORM,
    SECRET_ID,
    STAGE,
    build_arg_problem,
)
from bot.domain.environments import HOME, NamedRegistry
from bot.domain.models import AppSpec, BuildSecret, BuildSettings, RegistrySpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    account_id: str = Field(pattern=r"^\d{12}$", description="12-digit AWS account id (quoted)")
    region: str = Field(
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="the registry's region, e.g. eu-west-2"
    )
    role: str | None = Field(
        None,
        pattern=ROLE_ARN,
        description="a role the bot assumes, with the person's SourceIdentity, for the AWS calls "
        "it makes for them here (unset: the bot's own credentials)",
    )


class LimitsConfig(_Strict):
    diagnose_per_minute: int = Field(
        5, ge=1, le=1000, description="diagnose runs one person may ask for per minute"
    )
    reports_per_hour: int = Field(
        4, ge=1, le=1000, description="reports (posted or previewed) one person may ask per hour"
    )
    queued: int = Field(100, ge=1, le=100_000, description="pushes waiting at once, all apps")
    queued_per_app: int = Field(10, ge=1, le=10_000, description="pushes waiting at once per app")

    def rates(self) -> dict[Action, Limit]:
        return {
            Action.DIAGNOSE: Limit(self.diagnose_per_minute, 60.0),
            Action.DIAGNOSE_PLATFORM: Limit(self.diagnose_per_minute, 60.0),
            Action.REPORT: Limit(self.reports_per_hour, 3600.0),
        }


class SlackConfig(_Strict):
    channel: str | None = Field(None, description="where threads and reports go by default")
    channels: tuple[str, ...] = Field((), description="more channels /ecr may be used in")
    support_channels: tuple[str, ...] | None = Field(
        None,
        description="channels whose messages are triaged against known errors "
        "(default: `channel`; `[]`: only messages that mention the bot)",
    )
    admins: tuple[str, ...] = Field(
        (), description="user-group (S…) or user (U…) ids that may push any app"
    )
    restrict_to_channels: bool = Field(
        True, description="answer /ecr only in `channel` and `channels` (false: anywhere)"
    )
    access: dict[Action, Audience] = Field(
        {},
        description="who may: `diagnose`, `diagnose_platform`, `report`, `audit`, `jobs` "
        "(others' jobs) → `everyone`, `pushers` (the app's, and admins) or `admins`",
    )
    limits: LimitsConfig = Field(LimitsConfig(), description="per-person rates and queue bounds")

    @field_validator("access")
    @classmethod
    def _push_never_open(cls, value: dict[Action, Audience]) -> dict[Action, Audience]:
        for action in NEVER_EVERYONE:
            if value.get(action) is Audience.EVERYONE:
                raise ValueError(f"`{action.value}` can't be open to everyone")
        return value

    @property
    def allowed_channels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(([self.channel] if self.channel else []) + list(self.channels)))

    @property
    def triaged_channels(self) -> tuple[str, ...]:
        if self.support_channels is not None:
            return self.support_channels
        return (self.channel,) if self.channel else ()

    @property
    def channel_rule(self) -> ChannelRule:
        return ChannelRule(self.allowed_channels, self.restrict_to_channels)


class AppConfig(_Strict):
    source: str = Field(description="anything `git clone` takes, local paths too")
    repository: str | None = Field(
        None,
        pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$",
        description="ECR repository (default: the app name)",
    )
    dockerfile: str = Field(
        "Dockerfile", max_length=500, description="Dockerfile path in the context"
    )
    context: str = Field(".", max_length=500, description="build context in the repository")
    branch: str = Field("main", description="branch diagnose reads workflows from")
    github: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/repo (default: parsed from source)",
    )
    role: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="the app's CI role ARN (diagnose checks its trust and policies)",
    )
    pushers: tuple[str, ...] = Field((), description="user-group or user ids that may push it")
    sha_tag: Literal["full", "short"] = Field("full", description="tag with 40 or 7 characters")
    tag_latest: bool = Field(False, description="also move `latest` (SHAs over latest)")
    queue: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
        description="Celery queue whose workers build it (e.g. arm64; default: `ecrbot`)",
    )
    risk: Literal["low", "medium", "high"] | None = Field(
        None, description="risk tier the health report holds the repository to"
    )
    owner: str | None = Field(
        None, description="who the report names (default: the first of pushers)"
    )
    oidc_subject_keys: tuple[str, ...] | None = Field(
        None,
        description="the claim keys of the repository's OIDC `sub` when GitHub's API can't be "
        "read (e.g. `[repo, context, job_workflow_ref]`; default: GitHub's `[repo, context]`)",
    )
    builder: Literal["buildkit", "classic"] = Field(
        "buildkit", description="`buildkit`, or `classic` for the legacy builder (no `RUN --mount`)"
    )
    target: str | None = Field(
        None, pattern=f"^{STAGE.pattern}$", description="the Dockerfile stage to build (`--target`)"
    )
    build_args: dict[str, str] = Field(
        {}, description="`--build-arg`s; names or values that look like credentials are refused"
    )
    secrets: dict[str, SecretConfig] = Field(
        {},
        description="BuildKit secret mounts by id: `{env: ECRBOT_BUILD_SECRET_…}` or "
        "`{file: name}` under ECRBOT_BUILD_SECRETS_DIR; never in the image, its history, logs "
        "or Slack",
    )
    platforms: tuple[str, ...] = Field(
        (), description="target platforms, e.g. `[linux/arm64]` (default: the engine's own)"
    )
    registry_cache: bool = Field(
        True,
        description="inline cache metadata in pushed images, and reuse of the newest image's "
        "layers from ECR (BuildKit)",
    )
    environments: tuple[EnvironmentConfig, ...] = Field(
        (),
        description="where its image is promoted, in order: `{name, registry, repository?, "
        "approvers?, gate?}`; the first is promoted from `registry:`",
    )

    @field_validator("build_args")
    @classmethod
    def _no_secrets_in_build_args(cls, value: dict[str, str]) -> dict[str, str]:
        for name, arg in value.items():
            if problem := build_arg_problem(name, str(arg)):
                raise ValueError(f"`{name}` {problem}")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_ids(cls, value: dict[str, SecretConfig]) -> dict[str, SecretConfig]:
        for name in value:
            if not SECRET_ID.fullmatch(name):
                raise ValueError(f"secret id `{name}`: letters, digits, `_`, `.`, `-` (at most 64)")
        return value

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for platform in value:
            if not PLATFORM.fullmatch(platform):
                raise ValueError(f"`{platform}` is not a platform such as linux/amd64")
        return value

    @model_validator(mode="after")
    def _classic_limits(self) -> AppConfig:
        if self.builder == "classic" and self.secrets:
            raise ValueError("`secrets` need BuildKit: remove `builder: classic`")
        if self.builder == "classic" and len(self.platforms) > 1:
            raise ValueError("the classic builder builds one platform: remove `builder: classic`")
        return self

    @field_validator("oidc_subject_keys")
    @classmethod
    def _claim_keys(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        # Imported here: GitHub's claim rules are diagnose's, and `ecrbot push` loads the catalog.
        from bot.domain.workflow.subjects import checked_keys

        return checked_keys(list(value))

    @field_validator("dockerfile", "context")
    @classmethod
    def _inside_the_repository(cls, value: str) -> str:
        # Checked again against the checkout at build time, where symlinks are resolved too.
        parts = value.replace("\\", "/").split("/")
        if value.startswith(("/", "~")) or ".." in parts or "\0" in value:
            raise ValueError("must be a path inside the repository, without `..`")
        return value


class ReportConfig(_Strict):
    schedule: str = Field("0 9 * * 1", description="cron: minute hour day month weekday (1 = Mon)")
    timezone: str = Field("UTC", description="time zone of the schedule, e.g. Europe/London")
    enabled: bool = Field(True, description="post the report on the schedule")

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
    registries: dict[str, NamedRegistryConfig] = {}
    slack: SlackConfig = SlackConfig()
    report: ReportConfig = ReportConfig()
    apps: dict[str, AppConfig] = {}

    @model_validator(mode="after")
    def _app_names(self) -> Catalog:
        for name in self.apps:
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
                raise ValueError(f"app name `{name}` must be lowercase letters, digits, . _ -")
        return self

    @model_validator(mode="after")
    def _release_paths(self) -> Catalog:
        if HOME in self.registries:
            raise ValueError(f"registries.{HOME}: `{HOME}` is `registry:`; choose another name")
        for name, app in self.apps.items():
            check_environments(name, app.environments, dict(self.registries))
        return self

    def named_registries(self) -> dict[str, NamedRegistry]:
        """Every registry by name; `home` is `registry:`."""
        home = (self.registry.account_id, self.registry.region, self.registry.role)
        return named_registries(home, self.registries)

    @property
    def registry_spec(self) -> RegistrySpec:
        return RegistrySpec(self.registry.account_id, self.registry.region)

    def user_groups(self) -> list[str]:
        """Every Slack user group the catalog names, the admins' first (every access check
        asks them first), then the pushers': the directory's refresher reads them in this
        order."""
        admins = sorted({p for p in self.slack.admins if p.startswith("S")})
        pushers = {p for app in self.apps.values() for p in app.pushers if p.startswith("S")}
        return admins + sorted(pushers - set(admins))

    def all_apps(self) -> list[AppSpec]:
        return [app for name in sorted(self.apps) if (app := self.app(name)) is not None]

    @cached_property
    def _specs(self) -> tuple[Catalog, dict[str, AppSpec]]:
        """Each app's spec, built once: the catalog is frozen, and a push's acknowledgement,
        its job and its thread's rendering each ask for it (issue #19: building it took a tenth
        of an ack's CPU). Not a field: equality and dumps ignore it. Its owner is kept because
        a model_copy shares it, and must not answer from the original's apps."""
        return self, {}

    def app(self, name: str) -> AppSpec | None:
        owner, specs = self._specs
        if owner is not self:
            self.__dict__.pop("_specs", None)  # copied from another catalog
            owner, specs = self._specs
        spec = specs.get(name)
        if spec is None:
            config = self.apps.get(name)
            if config is None:
                return None
            spec = specs.setdefault(name, self._spec(name, config))
        return spec

    def _spec(self, name: str, config: AppConfig) -> AppSpec:
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
            queue=config.queue,
            oidc_subject_keys=config.oidc_subject_keys,
            build=BuildSettings(
                builder=config.builder,
                target=config.target,
                build_args=tuple(config.build_args.items()),
                secrets=tuple(
                    BuildSecret(id, secret.env, secret.file)
                    for id, secret in sorted(config.secrets.items())
                ),
                platforms=config.platforms,
                registry_cache=config.registry_cache,
            ),
            environments=environments(
                config.repository or name, config.environments, self.named_registries()
            ),
        )


def github_from_source(source: str) -> str | None:
    """`acme/my-app` from https://github.com/acme/my-app.git or git@github.com:acme/my-app."""
    match = re.search(r"github\.com[/:]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", source)
    return f"{match.group(1)}/{match.group(2)}" if match else None
