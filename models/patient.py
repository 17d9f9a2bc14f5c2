"""Patients. Archived, never deleted: their courses and records stay."""

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import SingleLine, json_column, new_id


class ReminderChannel(StrEnum):
    email = "email"
    sms = "sms"
    outbox = "outbox"
    none = "none"


def _e164(value: str) -> str:
    """Normalise to E.164; numbers must be international (+country code), as clinics serve travellers too."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number in international format, e.g. +49 30 1234567") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, Field(max_length=40, examples=["+49 30 12345678"]), AfterValidator(_e164)]
ShortText = Annotated[SingleLine, Field(min_length=1, max_length=200)]


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

    id: uuid.UUID = SQLField(default_factory=new_id, primary_key=True)
    mrn: str = SQLField(unique=True)
    given_name: str
    family_name: str
    # lower-cased copies for prefix search that uses an index on both databases
    given_name_key: str = SQLField(index=True)
    family_name_key: str = SQLField(index=True)
    date_of_birth: date
    phone: str | None = SQLField(default=None, index=True)
    email: str | None = None
    reminder_channel: str = ReminderChannel.none.value
    reminder_consent: bool = False
    medications: list[str] = SQLField(sa_column=json_column())
    allergies: list[str] = SQLField(sa_column=json_column())
    archived: bool = False
    # R24: one more whenever all the patient's links end at once (staff, a new phone or email, archiving)
    link_epoch: int = SQLField(default=0, sa_column_kwargs={"server_default": "0"})

    def set_name_keys(self) -> None:
        self.given_name_key = self.given_name.casefold()
        self.family_name_key = self.family_name.casefold()


class _PatientFields(BaseModel):
    @field_validator("date_of_birth", check_fields=False)
    @classmethod
    def _born_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and (value.year < 1900 or value > date.today()):  # noqa: DTZ011 - a birth date is a plain date
            raise ValueError("date_of_birth must be a past date after 1900")
        return value


class PatientCreate(_PatientFields):
    mrn: SingleLine = Field(
        min_length=1, max_length=64, examples=["MRN-004211"], description="The front-desk system's id, unique"
    )
    given_name: ShortText = Field(examples=["Maria"])
    family_name: ShortText = Field(examples=["Keller"])
    date_of_birth: date = Field(examples=["1971-04-09"])
    phone: Phone | None = None
    email: EmailStr | None = Field(default=None, examples=["maria.keller@example.org"])
    reminder_channel: ReminderChannel = ReminderChannel.none
    reminder_consent: bool = False
    medications: list[ShortText] = Field(default_factory=list, max_length=50, examples=[["Advil 200 mg", "metformin"]])
    allergies: list[ShortText] = Field(default_factory=list, max_length=50, examples=[["lidocaine"]])


class PatientUpdate(_PatientFields):
    """Only the fields given change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+49 89 7654321", "medications": ["Aleve 220 mg", "metformin"]}]}
    )

    mrn: SingleLine | None = Field(default=None, min_length=1, max_length=64)
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    date_of_birth: date | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    reminder_channel: ReminderChannel | None = None
    reminder_consent: bool | None = None
    medications: list[ShortText] | None = Field(default=None, max_length=50)
    allergies: list[ShortText] | None = Field(default=None, max_length=50)


class PatientRead(BaseModel):
    id: uuid.UUID
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    phone: str | None
    email: str | None
    reminder_channel: ReminderChannel
    reminder_consent: bool
    medications: list[str]
    allergies: list[str]
    archived: bool

    @classmethod
    def of(cls, patient: Any) -> "PatientRead":
        return cls.model_validate(patient, from_attributes=True)
