"""Optional parts stay optional: an extra is imported only when the settings select it.

`pip install '.[sandbox]'` (the README's first command) has neither Celery nor psycopg, and
`ecrbot serve` must start without them. A setting that selects one checks here first, so a
missing extra is one line that names the `pip install` to run, not a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

from bot.config import Settings
from bot.domain.errors import ConfigError

# The module each extra brings, as pyproject.toml's [project.optional-dependencies] names them.
CELERY = ("celery", "celery")
POSTGRES = ("psycopg", "postgres")


def require(extra: tuple[str, str], selected_by: str) -> None:
    """Raise ConfigError naming the extra when its module is not installed."""
    module, name = extra
    if find_spec(module) is None:
        raise ConfigError(
            f"{selected_by} needs the '{name}' extra, which is not installed: "
            f"pip install 'ecrbot[{name}]'"
        )


def require_for(settings: Settings) -> None:
    """Check every extra the settings select (worker backend, database driver)."""
    if settings.worker_backend == "celery":
        require(CELERY, "ECRBOT_WORKER_BACKEND=celery")
    require_for_database(settings.database_url)


def require_for_database(url: str) -> None:
    """A PostgreSQL URL needs psycopg (the `postgres` extra)."""
    # The scheme by hand (`postgresql+psycopg://`): SQLAlchemy's parser costs `ecrbot diagnose`
    # its import, and SQLAlchemy 2 knows no other spelling of the dialect.
    if url.partition(":")[0].partition("+")[0] == "postgresql":
        require(POSTGRES, "ECRBOT_DATABASE_URL=postgresql…")
