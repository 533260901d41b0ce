"""The README's configuration reference, generated from the settings and catalog models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import Settings
from bot.config_catalog import AppConfig, RegistryConfig, ReportConfig, SlackConfig
from bot.config_release import EnvironmentConfig, GateConfig, NamedRegistryConfig

BEGIN, END = "<!-- reference:begin (scripts/docs writes this) -->", "<!-- reference:end -->"


def reference() -> str:
    """Both tables: environment variables, then catalog keys."""
    env = ["| variable | meaning | default |", "|---|---|---|"]
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        name = alias.choices[0] if isinstance(alias, AliasChoices) else str(alias)
        env.append(f"| `{name}` | {field.description} | {_default(field)} |")
    catalog = ["| key | meaning | default |", "|---|---|---|"]
    sections: tuple[tuple[str, type[BaseModel]], ...] = (
        ("registry", RegistryConfig),
        ("registries.<name>", NamedRegistryConfig),
        ("slack", SlackConfig),
        ("report", ReportConfig),
        ("apps.<name>", AppConfig),
        ("apps.<name>.environments[]", EnvironmentConfig),
        ("apps.<name>.environments[].gate", GateConfig),
    )
    for prefix, model in sections:
        catalog += _rows(prefix, model)
    return "\n".join(["Environment:", "", *env, "", "Catalog (`ECRBOT_CONFIG`):", "", *catalog])


def _rows(prefix: str, model: type[BaseModel]) -> list[str]:
    rows = []
    for key, field in model.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            rows += _rows(f"{prefix}.{key}", nested)  # one row per key of a nested block
        else:
            rows.append(f"| `{prefix}.{key}` | {field.description} | {_default(field)} |")
    return rows


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:  # computed at start: the factory's docstring says how
        return (field.default_factory.__doc__ or "computed at start").strip()
    value: Any = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None or value == () or value == {}:
        return "unset"
    return f"`{value}`"


def update_readme(path: Path) -> bool:
    """Rewrite the block between the markers; True when the file changed."""
    text = path.read_text()
    block = f"{BEGIN}\n{reference()}\n{END}"
    updated = re.sub(
        re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL
    )
    if updated != text:
        path.write_text(updated)
    return updated != text
