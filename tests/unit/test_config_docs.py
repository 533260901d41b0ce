"""The README's configuration reference is generated from the models and must not drift."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.config_docs import BEGIN, END, reference

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_holds_the_current_reference() -> None:
    block = README[README.index(BEGIN) + len(BEGIN) : README.index(END)].strip()
    assert block == reference(), "run scripts/docs"


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())
