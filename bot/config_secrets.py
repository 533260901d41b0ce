"""Where a build secret may come from: the catalog's `secrets:` checked against an allowlist of
sources (issue #18). An app team writes the Dockerfile; what it can mount is decided here.

- `env:` only variables named `ECRBOT_BUILD_SECRET_…`, never one the bot reads for itself
  (every variable of the settings model, derived from it, and `AWS_*`, `SLACK_*`, `GITHUB_*`);
- `file:` only a file whose real path is under ECRBOT_BUILD_SECRETS_DIR; the resolved path is
  what BuildKit gets, and the build resolves it again (`adapters/buildkit.py`).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.domain.build_rules import secret_env_problem, secret_file_problem

# The key of the validation context that carries the build-secrets directory to the catalog.
SECRETS_DIR = "build_secrets_dir"


@functools.cache
def bot_variables() -> frozenset[str]:
    """Every environment variable the settings model reads, upper case (names and aliases)."""
    from bot.config import Settings  # here, not at the top: config.py imports this module

    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())  # populate_by_name: the field's own name is read too
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if alias else [])
        names.update(str(choice).upper() for choice in choices)
    return frozenset(names)


def resolve_secret_file(file: str, secrets_dir: Path | str | None) -> str:
    """The real path of `file` (absolute, or relative to the directory), or ValueError why not."""
    if "\0" in file:
        raise ValueError("`file` holds a NUL character")
    root = os.path.realpath(secrets_dir) if secrets_dir is not None else None
    resolved = os.path.realpath(os.path.join(root or "/", file))
    if problem := secret_file_problem(resolved, root):
        raise ValueError(f"`file` {problem}")
    return resolved


class SecretConfig(BaseModel):
    """One build secret: exactly one source, from the allowlist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(
        None, description="a variable of the bot named `ECRBOT_BUILD_SECRET_…` holding it"
    )
    file: str | None = Field(
        None,
        description="a file under ECRBOT_BUILD_SECRETS_DIR (absolute, or relative to it) "
        "holding it",
    )

    @field_validator("env")
    @classmethod
    def _allowed_variable(cls, value: str | None) -> str | None:
        if value is not None and (problem := secret_env_problem(value, bot_variables())):
            raise ValueError(f"env `{value}` {problem}")
        return value

    @field_validator("file")
    @classmethod
    def _under_the_secrets_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        context: dict[str, Any] = info.context or {}
        return resolve_secret_file(value, context.get(SECRETS_DIR))

    @model_validator(mode="after")
    def _one_source(self) -> SecretConfig:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` (a variable) or `file` (a path)")
        return self
