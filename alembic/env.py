"""Alembic environment: Prolo's models are the target; the URL comes from the caller or PROLO_DATABASE_URL."""

from typing import Literal

from alembic import context
from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models  # noqa: F401 - registers every table on SQLModel.metadata
from api.settings import get_settings
from api.store.db import make_engine
from models.base import UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # PostgreSQL-only and hand-written: the exclusion constraint (autogenerate cannot render it), and the
    # sync feed's (txid, id) index (migration 0006; SQLite's txid is always 0). SQLite-only and written by
    # triggers alone: the day view's change log (migration 0012).
    return name not in (
        "alembic_version", "ex_session_practitioner_overlap", "ix_audit_event_txid_id", "day_view_change"
    )  # fmt: skip


def _render_item(type_: str, obj: object, autogen_context: object) -> str | Literal[False]:
    # Migrations stay free of Prolo's Python types: plain SQLAlchemy types render the same schema.
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine: Engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
