"""The audit trail (SPEC S7): one event per changed row, in the transaction that changed it, never changed after.

Events are also the sync feed front-desk software follows (`GET /v1/audit-events?after=…`).
On PostgreSQL each event records the id of the transaction that wrote it (`txid`), so the
feed can hold back events of transactions still running (see api/store/audit.py).
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import json_column, utc_column


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        # The id first: new rows' ids are time-ordered (UUIDv7), so a transaction's events land together
        # at the index's end; by type first they landed in three places, and a booking's commit wrote
        # three times the pages. The feed's (txid, id) index is PostgreSQL's alone (migration 0006): on
        # SQLite txid is always 0 and the feed reads in id order.
        sa.Index("ix_audit_event_entity_id_entity_type", "entity_id", "entity_type"),
        sa.Index("ix_audit_event_at", "at"),
        {"sqlite_autoincrement": True},
    )

    # AUTOINCREMENT on SQLite: ids only grow, never reused (the feed's order)
    id: int | None = SQLField(
        default=None, sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    )
    txid: int = SQLField(sa_column=sa.Column(sa.BigInteger(), nullable=False))  # 0 on SQLite
    at: datetime = SQLField(sa_column=utc_column())
    actor_id: uuid.UUID | None = None  # the API key; None for the CLI and the dispatcher
    actor_name: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = SQLField(default=None, sa_column=json_column(nullable=True))
    after: dict[str, Any] | None = SQLField(default=None, sa_column=json_column(nullable=True))


class Actor(BaseModel):
    """Who made a change: an API key (its id, name and role), or the `prolo` command line."""

    id: uuid.UUID | None = Field(default=None, description="The API key's id; null for the command line")
    name: str = Field(examples=["Front desk PC 1"])
    role: str = Field(examples=["frontdesk"], description="The key's role, or `cli`")


class AuditEventRead(BaseModel):
    id: int
    at: datetime
    actor: Actor
    action: str = Field(examples=["reschedule"], description="The route's name, or the command's")
    entity_type: str = Field(examples=["session"], description="The table's name")
    entity_id: str
    before: dict[str, Any] | None = Field(description="The row before the change; null when it was made")
    after: dict[str, Any] | None = Field(description="The row after the change; null when it was removed")


class AuditFeed(BaseModel):
    """A page of events, oldest first; pass `next_cursor` as `after` for the next one."""

    items: list[AuditEventRead]
    next_cursor: str = Field(
        description="Where this page ended; ask again with after=next_cursor (even when items is empty: "
        "events of transactions still running appear later, never before it)"
    )
    limit: int
