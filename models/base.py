"""Shared pieces of the tables and schemas: naming convention, column types, list and error shapes."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlmodel import SQLModel
from uuid_utils.compat import uuid7

from scheduling.messages import is_one_line

# Explicit constraint and index names, so migrations never hold constraints named None.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONColumn = sa.JSON().with_variant(JSONB(), "postgresql")


def _utc(value: datetime) -> datetime:
    zone = value.tzinfo
    if zone is UTC:  # most instants are UTC already (read back, or planned so): no new object
        return value
    if zone is None:
        raise ValueError("naive datetime given for an instant column")
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An instant: stored in UTC, returned aware in UTC on SQLite and PostgreSQL alike.

    SQLite keeps no offset, so naive values would come back from it; we refuse
    naive input and normalise everything to UTC on the way in and out. On SQLite
    the column uses `SQLiteInstant` instead (see `utc_column`).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def sqlite_instant(value: datetime) -> str:
    """An instant as SQLite keeps it: "2027-01-04 09:00:00.000000" in UTC, its offset left off."""
    return _utc(value).isoformat(" ", "microseconds")[:26]


class SQLiteInstant(SQLITE_DATETIME):
    """UTCDateTime on SQLite: SQLAlchemy's own DATETIME text ("2027-01-04 09:00:00.000000", UTC).

    Converted in one C call each way (``isoformat``, ``fromisoformat``) by processors
    SQLAlchemy calls directly, not through a TypeDecorator's extra layer: a booking reads
    about a thousand instants while it plans.
    """

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[datetime | None], str | None]:
        def process(value: datetime | None) -> str | None:
            return None if value is None else sqlite_instant(value)

        return process

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Callable[[str | None], datetime | None]:
        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:  # appending the offset beats datetime.replace(tzinfo=UTC) several times over
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:  # text written with an offset by something other than Prolo
                return _utc(datetime.fromisoformat(value))

        return process


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


def _single_line(value: str) -> str:
    if not is_one_line(value):
        raise ValueError("must be a single line: no line breaks, tabs or other control characters")
    return value


# S2: names, reasons and other one-line texts. A line break in a clinic's name broke every calendar feed and
# email subject; such input is refused (422). Answers read stored rows as plain `str`: rows stored before
# this rule must still be shown (and are written out on one line where a line matters: feeds, emails).
SingleLine = Annotated[str, AfterValidator(_single_line)]


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Core table, for statements that skip the ORM (SQLModel sets it; typing cannot see it)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def new_id() -> uuid.UUID:
    return uuid7()


def only_where(condition: str) -> dict[str, Any]:
    """A partial index's condition, the same on both databases: `sa.Index(..., **only_where("status = 'x'"))`."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    instant = UTCDateTime().with_variant(SQLiteInstant(), "sqlite")  # type: ignore[no-untyped-call]
    return sa.Column(instant, nullable=nullable, index=index)


def json_column(*, nullable: bool = False) -> Any:
    return sa.Column(JSONColumn, nullable=nullable)


E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class EnumText(sa.types.TypeDecorator[E]):
    """A state from the core's vocabulary (a StrEnum), stored as its text and read back as the enum.

    Plain VARCHAR, no database enum type: adding a state needs no migration of the type.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type
        # by dictionary, not by calling the enum (a Python-level call several times as costly): a StrEnum's
        # member hashes and compares as its text, so one key finds a member and its text alike
        self._members: dict[str, E] = {member.value: member for member in enum_type}
        self._texts: dict[str, str] = {member.value: member.value for member in enum_type}  # plain str values

    def text_of(self, value: E | str) -> str:
        """The stored text of a member or of its text; ValueError for anything else, as the enum would."""
        return self._look_up(self._texts, value)

    def member_of(self, value: str) -> E:
        return self._look_up(self._members, value)

    def _look_up(self, table: dict[str, T], value: E | str) -> T:
        try:
            return table[value]
        except KeyError:
            raise ValueError(f"{value!r} is not a valid {self.enum_type.__name__}") from None

    def process_bind_param(self, value: E | str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.text_of(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> E | None:
        return None if value is None else self.member_of(value)


def enum_column(enum_type: type[StrEnum], *, index: bool = False) -> Any:
    return sa.Column(EnumText(enum_type), nullable=False, index=index)


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
    code: str = Field(description="Stable snake_case code to branch on (README, Errors)", examples=["not_found"])
    detail: str | None = None
    instance: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, and the total over all pages."""

    items: list[T]
    total: int
    limit: int
    offset: int
