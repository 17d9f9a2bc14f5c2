"""Aftercare windows and the restrictions in force on a day (R12–R15), as the API shows them."""

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from models.base import Warning


class AftercareWindow(BaseModel):
    """What to do or avoid from `from` until `until` (both local dates, inclusive), after one session."""

    model_config = ConfigDict(populate_by_name=True)

    rule_code: str = Field(examples=["avoid_nsaids"])
    kind: str = Field(examples=["avoid_medication"])
    medication_class: str | None = Field(default=None, examples=["nsaid"])
    from_date: date = Field(alias="from", examples=["2027-03-01"])
    until_date: date = Field(alias="until", examples=["2027-03-05"])
    instruction: str
    session_id: uuid.UUID


class AftercareList(BaseModel):
    items: list[AftercareWindow]


class Restrictions(BaseModel):
    on: date
    restrictions: list[AftercareWindow]
    warnings: list[Warning]
