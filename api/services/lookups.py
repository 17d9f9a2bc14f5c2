"""Load-or-404 for the use cases, with the row locks writers plan under (R11)."""

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session as DbSession
from sqlmodel import SQLModel

from api.services.errors import NotFound

Row = TypeVar("Row", bound=SQLModel)


def get_or_404(db: DbSession, model: type[Row], row_id: uuid.UUID, *, lock: bool = False) -> Row:
    """The row with this id; `lock` holds it (PostgreSQL `FOR UPDATE`) until the transaction ends."""
    if not lock:
        row = db.get(model, row_id)
    else:
        row = db.execute(
            select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
        ).scalar_one_or_none()
    if row is None:
        raise NotFound(str(model.__tablename__), row_id)
    return row
