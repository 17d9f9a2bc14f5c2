"""Weekly hours and local clock times as the API writes them: `{"weekday": "mon", "start": "08:00", "end": "12:00"}`."""

import itertools
from datetime import time
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _check_clock(value: str) -> str:
    time.fromisoformat(value)  # the pattern guarantees the shape; this rejects nothing more
    return value


LocalTime = Annotated[
    str,
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"], description="Local wall-clock time, HH:MM"),
    AfterValidator(_check_clock),
]


class WeekHours(BaseModel):
    """One interval of a weekly timetable, in the clinic's local time."""

    weekday: Weekday
    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start (intervals do not cross midnight)")
        return self


def check_week(intervals: list[WeekHours]) -> list[WeekHours]:
    """Refuse overlapping intervals on one weekday: they would make the slot grid ambiguous."""
    by_day = sorted(intervals, key=lambda i: (WEEKDAYS.index(i.weekday), i.start))
    for a, b in itertools.pairwise(by_day):
        if a.weekday == b.weekday and b.start < a.end:
            raise ValueError(f"intervals overlap on {a.weekday}: {a.start}-{a.end} and {b.start}-{b.end}")
    return by_day


WeekTimetable = Annotated[list[WeekHours], AfterValidator(check_week)]

DEFAULT_OPENING_HOURS = [{"weekday": day, "start": "08:00", "end": "17:00"} for day in WEEKDAYS[:5]]
