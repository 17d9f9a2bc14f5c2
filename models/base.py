"""Shared pieces of the tables and schemas: naming convention, column types, list and error shapes."""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

# Explicit constraint and index names, so migrations never hold constraints named None.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONColumn = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An instant: stored in UTC, returned aware in UTC on SQLite and PostgreSQL alike.

    SQLite keeps no offset, so naive values would come back from it; we refuse
    naive input and normalise everything to UTC on the way in and out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for an instant column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Dates staff and software may give: far enough either way for any clinic, and far from
# the calendar's ends (year 1, 9999), where shifting a date to UTC or planning past it overflows.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
DATE_BOUNDS: dict[str, Any] = {"ge": EARLIEST_DATE, "le": LATEST_DATE}
PlanDate = Annotated[date, Field(**DATE_BOUNDS)]
Instant = Annotated[
    AwareDatetime,
    Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2200, 12, 31, tzinfo=UTC)),
]


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def json_column(*, nullable: bool = False) -> Any:
    return sa.Column(JSONColumn, nullable=nullable)


class Warning(BaseModel):
    """Something staff should know about, which did not stop the action."""

    code: str = Field(examples=["outside_window"])
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answer carries them."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, and the total over all pages."""

    items: list[T]
    total: int
    limit: int
    offset: int
