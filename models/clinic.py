"""The clinic: one row holding its name, time zone, opening hours and reminder settings."""

from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from models.base import SingleLine, json_column
from models.hours import DEFAULT_OPENING_HOURS, LocalTime, WeekHours, WeekTimetable
from models.patient import Phone
from models.waitlist import WaitlistSettingsWrite
from scheduling.hygiene import DEFAULT_CHANGE_GRACE_MINUTES
from scheduling.reminders import DEFAULT_CONFIRM_REQUEST_OFFSET_MINUTES, DEFAULT_SKIP_WHEN_CONFIRMED_OFFSETS_MINUTES


@cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the whole zone database on disk (~15 ms): once per process is enough
    return frozenset(available_timezones())


def _check_zone(name: str) -> str:
    # "localtime" follows the host's /etc/localtime and "Factory" is no place: neither is a clinic's zone
    if name not in _known_zones() or name in ("localtime", "Factory"):
        raise ValueError(f"unknown IANA time zone {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_zone), Field(examples=["Europe/Berlin"])]


def _check_country(code: str) -> str:
    code = code.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"not an ISO 3166-1 alpha-2 country with phone numbers: {code!r}")
    return code


class QuietHours(BaseModel):
    """No patient reminder goes out between start and end (local time, may wrap midnight)."""

    start: LocalTime = "21:00"
    end: LocalTime = "08:00"


class Clinic(SQLModel, table=True):
    __tablename__ = "clinic"

    id: int = SQLField(default=1, primary_key=True)
    name: str
    timezone: str
    opening_hours: list[dict[str, Any]] = SQLField(sa_column=json_column())
    slot_minutes: int = 15
    reminder_offsets_minutes: list[int] = SQLField(sa_column=json_column())
    reminder_send_time: str = "09:00"
    quiet_hours: dict[str, str] = SQLField(sa_column=json_column())
    phone: str | None = None
    # R26, R27: what a patient may do through a session's link (SelfService below)
    cancel_notice_hours: int = SQLField(default=24, sa_column_kwargs={"server_default": "24"})
    reschedule_notice_hours: int = SQLField(default=24, sa_column_kwargs={"server_default": "24"})
    patient_cancel_replaces: bool = SQLField(default=True, sa_column_kwargs={"server_default": sa.true()})
    self_service_alternatives: int = SQLField(default=3, sa_column_kwargs={"server_default": "3"})
    self_service_max_moves: int = SQLField(default=2, sa_column_kwargs={"server_default": "2"})
    confirm_request_offset_minutes: int | None = DEFAULT_CONFIRM_REQUEST_OFFSET_MINUTES
    skip_when_confirmed_offsets_minutes: list[int] = SQLField(
        default_factory=lambda: list(DEFAULT_SKIP_WHEN_CONFIRMED_OFFSETS_MINUTES), sa_column=json_column()
    )
    change_grace_minutes: int = DEFAULT_CHANGE_GRACE_MINUTES
    one_message_per_day: bool = True
    country: str | None = None  # R31: the default region of numbers that arrive without +country code
    # R40–R43: the waitlist's mode and limits (WaitlistSettingsWrite's fields)
    waitlist: dict[str, Any] = SQLField(
        default_factory=lambda: WaitlistSettingsWrite().model_dump(mode="json"), sa_column=json_column()
    )

    @property
    def zone(self) -> ZoneInfo:
        """R1: the clinic's time zone, in which every local date and time is meant."""
        return ZoneInfo(self.timezone)


class ClinicWrite(BaseModel):
    """The clinic's settings, as staff set them."""

    name: SingleLine = Field(min_length=1, max_length=200, examples=["Riverside Prolotherapy"])
    timezone: TimeZoneName
    opening_hours: WeekTimetable = Field(
        default_factory=lambda: [WeekHours(**h) for h in DEFAULT_OPENING_HOURS],
        description="Weekly opening hours in local time; several intervals a day allowed.",
    )
    slot_minutes: int = Field(default=15, ge=5, le=240, description="Session starts lie on this grid")
    reminder_offsets_minutes: list[Annotated[int, Field(ge=1, le=20160)]] = Field(
        default=[2880, 120],
        max_length=6,
        description="Appointment reminders, minutes before the start (at most 14 days)",
    )
    reminder_send_time: LocalTime = "09:00"
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    phone: Phone | None = Field(
        default=None, description="The number patients call (E.164), printed on the aftercare handout"
    )
    cancel_notice_hours: int = Field(
        default=24, ge=0, le=720, description="A patient cancels through their link only this long before (R26)"
    )
    reschedule_notice_hours: int = Field(
        default=24, ge=0, le=720, description="A patient moves a session through their link only this long before"
    )
    patient_cancel_replaces: bool = Field(
        default=True, description="A session the patient cancels gets a replacement at the end of the course"
    )
    self_service_alternatives: int = Field(
        default=3, ge=0, le=3, description="How many other times the patient's page offers (R27)"
    )
    self_service_max_moves: int = Field(
        default=2, ge=0, le=5, description="How many other sessions a patient's move may shift with it (R27)"
    )
    confirm_request_offset_minutes: Annotated[int, Field(ge=1, le=20160)] | None = Field(
        default=DEFAULT_CONFIRM_REQUEST_OFFSET_MINUTES,
        description="A request to confirm, this many minutes before each scheduled session (R35); null: none",
    )
    skip_when_confirmed_offsets_minutes: list[Annotated[int, Field(ge=1, le=20160)]] = Field(
        default=list(DEFAULT_SKIP_WHEN_CONFIRMED_OFFSETS_MINUTES),
        max_length=6,
        description="Appointment reminders a confirmed session no longer gets (R35)",
    )
    change_grace_minutes: int = Field(
        default=DEFAULT_CHANGE_GRACE_MINUTES,
        ge=0,
        le=1440,
        description="A change notice waits this long after the last change, so quick changes send one (R37)",
    )
    one_message_per_day: bool = Field(
        default=True,
        description="Aftercare and exercise reminders ride with that day's other message (R38); false: each alone",
    )
    country: Annotated[str, AfterValidator(_check_country)] | None = Field(
        default=None,
        examples=["US"],
        description="ISO 3166-1 alpha-2: where a texted number without +country code is from (R31);"
        " none: such numbers go to staff",
    )
    waitlist: WaitlistSettingsWrite = Field(
        default_factory=WaitlistSettingsWrite,
        description="The course-aware waitlist (R39–R45): `staff` lists candidates for staff, `auto` offers",
    )


class ClinicRead(ClinicWrite):
    name: str  # as stored (SingleLine)
