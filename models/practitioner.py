"""Practitioners, their weekly working hours and their time off."""

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import Instant, SingleLine, json_column, new_id, utc_column
from models.hours import WeekTimetable


class Practitioner(SQLModel, table=True):
    __tablename__ = "practitioner"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    name: str
    # None: the clinic's opening hours
    working_hours: list[dict[str, Any]] | None = SQLField(sa_column=json_column(nullable=True))


class PractitionerCreate(BaseModel):
    name: SingleLine = Field(min_length=1, max_length=200, examples=["Dr. Amara Okafor"])
    working_hours: WeekTimetable | None = Field(
        default=None,
        description="Weekly working hours; omit to follow the clinic's opening hours",
        examples=[
            [{"weekday": "mon", "start": "08:00", "end": "12:00"}, {"weekday": "wed", "start": "12:00", "end": "18:00"}]
        ],
    )


class PractitionerUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"working_hours": [{"weekday": "tue", "start": "13:00", "end": "17:00"}]}]}
    )

    name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    working_hours: WeekTimetable | None = None


class PractitionerRead(PractitionerCreate):
    id: uuid.UUID
    name: str  # as stored (SingleLine)


class TimeOff(SQLModel, table=True):
    __tablename__ = "time_off"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    practitioner_id: uuid.UUID = SQLField(foreign_key="practitioner.id", index=True)
    start_at: datetime = SQLField(sa_column=utc_column())
    end_at: datetime = SQLField(sa_column=utc_column())
    reason: str


class TimeOffCreate(BaseModel):
    start: Instant = Field(examples=["2027-03-01T08:00:00+01:00"])
    end: Instant = Field(examples=["2027-03-05T17:00:00+01:00"])
    reason: SingleLine = Field(min_length=1, max_length=200, examples=["Conference"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TimeOffRead(TimeOffCreate):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    reason: str  # as stored (SingleLine)


class FreeSlot(BaseModel):
    start: datetime
    end: datetime
    start_local: datetime
