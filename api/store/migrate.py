"""Run Alembic from Prolo: `prolo db upgrade`, `prolo serve` and the tests all go through here."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from api.store.db import schema_transaction

ROOT = Path(__file__).resolve().parent.parent.parent


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to this engine (SQLite's pragmas and BEGIN handling included)."""
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    # ConfigParser reads % as interpolation: a URL with %-escapes (passwords, options) needs %%
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; processes doing it at once take turns (`schema_transaction`)."""
    config = alembic_config(engine)
    with schema_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config(engine)
    with schema_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (`alembic check`)."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)
