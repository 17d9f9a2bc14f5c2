"""Protocols: reusable course templates with their aftercare rules (SPEC R12, R13)."""

import uuid
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import SingleLine, json_column, new_id
from scheduling.aftercare import RuleKind as RuleKind
from scheduling.messages import is_one_line

# The longest session a protocol may ask for: it also bounds how far back a booking that
# overlaps a given instant can start, which keeps the calendar queries on their index.
MAX_SESSION_MINUTES = 480


class AftercareRule(BaseModel):
    """What to do or avoid in a window of days around each session (R12)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["avoid_nsaids"])
    kind: RuleKind
    start_offset_days: int = Field(ge=-30, le=90, description="0 = the session's local day")
    duration_days: int = Field(ge=1, le=90, description="Days covered, the first included")
    instruction: str = Field(min_length=1, max_length=1000)
    medication_class: str | None = Field(default=None, examples=["nsaid"])

    @model_validator(mode="after")
    def _medication_class_for_avoidance(self) -> Self:
        if self.kind is RuleKind.avoid_medication and not self.medication_class:
            raise ValueError("an avoid_medication rule needs a medication_class")
        return self


class ProtocolTiming(SQLModel):
    """How many sessions, how far apart and how long (R2–R5): a protocol's, and each course's as it was booked.

    Defined once for the protocol and course tables and for their answers (`ProtocolRead`, `CourseRead`),
    whose JSON lists these fields first.
    """

    session_count: int
    interval_days: int
    interval_tolerance_days: int
    min_interval_days: int
    session_minutes: int


class Protocol(ProtocolTiming, table=True):
    __tablename__ = "protocol"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    name: str = SQLField(unique=True)
    injectate: str
    is_default: bool = False
    rules: list[dict[str, Any]] = SQLField(sa_column=json_column())


class _ProtocolValues(BaseModel):
    @model_validator(mode="after")
    def _consistent(self) -> Self:
        interval = getattr(self, "interval_days", None)
        tolerance = getattr(self, "interval_tolerance_days", None)
        minimum = getattr(self, "min_interval_days", None)
        if interval is not None and minimum is not None and minimum > interval:
            raise ValueError("min_interval_days must not exceed interval_days")
        if interval is not None and tolerance is not None and tolerance >= interval:
            raise ValueError("interval_tolerance_days must be less than interval_days")
        rules = getattr(self, "rules", None) or []
        codes = [rule.code for rule in rules]
        if len(codes) != len(set(codes)):
            raise ValueError("rule codes must be unique within a protocol")
        # S2, here and not on AftercareRule: answers read stored rules with that model too
        if not all(is_one_line(rule.medication_class or "") for rule in rules):
            raise ValueError("a rule's medication_class must be a single line")
        return self


class ProtocolCreate(_ProtocolValues):
    name: SingleLine = Field(min_length=1, max_length=200, examples=["Prolotherapy — knee, 5 × every 21 days"])
    session_count: int = Field(default=6, ge=1, le=12)
    interval_days: int = Field(default=14, ge=1, le=90)
    interval_tolerance_days: int = Field(default=3, ge=0, le=30)
    min_interval_days: int = Field(default=7, ge=1, le=90, description="R4: hard minimum between sessions")
    session_minutes: int = Field(default=45, ge=5, le=MAX_SESSION_MINUTES)
    injectate: SingleLine = Field(min_length=1, max_length=500, examples=["dextrose 15% + lidocaine 0.2%"])
    rules: list[AftercareRule] = Field(default_factory=list, max_length=20)


class ProtocolUpdate(_ProtocolValues):
    """Only the fields given change. Booked courses keep the values they were booked with."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"session_count": 5, "interval_days": 21}]})

    name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    session_count: int | None = Field(default=None, ge=1, le=12)
    interval_days: int | None = Field(default=None, ge=1, le=90)
    interval_tolerance_days: int | None = Field(default=None, ge=0, le=30)
    min_interval_days: int | None = Field(default=None, ge=1, le=90)
    session_minutes: int | None = Field(default=None, ge=5, le=MAX_SESSION_MINUTES)
    injectate: SingleLine | None = Field(default=None, min_length=1, max_length=500)
    rules: list[AftercareRule] | None = Field(default=None, max_length=20)


class ProtocolRead(ProtocolTiming):
    id: uuid.UUID
    name: str
    injectate: str
    is_default: bool
    rules: list[AftercareRule]
