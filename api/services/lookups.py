"""Load-or-404 for the use cases, with the row locks writers plan under (R11)."""

import uuid
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlmodel import Session as DbSession
from sqlmodel import SQLModel

from api.services.errors import NotFound

Row = TypeVar("Row", bound=SQLModel)


@cache
def _locking(model: type[SQLModel]) -> Select[Any]:
    """SELECT … FOR UPDATE by id, built once per table (writers run it on every booking)."""
    return select(model).where(model.id == bindparam("id")).with_for_update()  # type: ignore[attr-defined]


def get_or_404(db: DbSession, model: type[Row], row_id: uuid.UUID, *, lock: bool = False) -> Row:
    """The row with this id; `lock` holds it (PostgreSQL `FOR UPDATE`) until the transaction ends."""
    row = db.get(model, row_id) if not lock else db.execute(_locking(model), {"id": row_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(str(model.__tablename__), row_id)
    return row
