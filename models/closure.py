"""Closures: whole local days on which the clinic is shut (holidays, training days)."""

import uuid
from datetime import date
from typing import Self

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import PlanDate, SingleLine, new_id


class Closure(SQLModel, table=True):
    __tablename__ = "closure"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    start_date: date = SQLField(index=True)
    end_date: date
    reason: str


class ClosureCreate(BaseModel):
    start_date: PlanDate = Field(examples=["2027-12-24"], description="First closed local date")
    end_date: PlanDate = Field(examples=["2027-12-26"], description="Last closed local date (inclusive)")
    reason: SingleLine = Field(min_length=1, max_length=200, examples=["Christmas"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("a closure spans at most a year")
        return self


class ClosureRead(ClosureCreate):
    id: uuid.UUID
    reason: str  # as stored (SingleLine)


class HolidayImport(BaseModel):
    """Public holidays of a country (and optionally a subdivision) for one year."""

    country: SingleLine = Field(min_length=2, max_length=3, examples=["DE"], description="ISO 3166 code")
    subdivision: SingleLine | None = Field(default=None, max_length=10, examples=["BY"])
    year: int = Field(ge=2000, le=2100, examples=[2027])
