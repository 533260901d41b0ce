"""The schema's head read from the migration files (no Alembic import at start) is Alembic's."""

from __future__ import annotations

from pathlib import Path

from bot.adapters import schema
from bot.adapters.table_names import head_from_files


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert schema._head_from_files() == schema._alembic_head() == schema.head()


def test_a_branch_or_an_unread_file_is_left_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    step = 'revision = "{}"\ndown_revision = {}\n'
    (versions / "a.py").write_text(step.format("0001", "None"))
    (versions / "b.py").write_text(step.format("0002", '"0001"'))
    assert head_from_files(tmp_path) == "0002"
    (versions / "c.py").write_text(step.format("0003", '"0001"'))  # a second head
    assert head_from_files(tmp_path) is None
    (versions / "c.py").write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')
    assert head_from_files(tmp_path) is None  # a merge: not one line of history
