"""The clinic's settings: made once from `PROLO_CLINIC_TIMEZONE`, then edited by admins."""

from datetime import datetime, time
from functools import lru_cache

import phonenumbers

from api.settings import Settings
from api.store.unit_of_work import UnitOfWork
from models import Clinic, ClinicRead, ClinicWrite
from models.hours import DEFAULT_OPENING_HOURS, WEEKDAYS
from scheduling import HoursInterval


def ensure_clinic(*, uow: UnitOfWork, settings: Settings) -> Clinic:
    """Make the clinic row if this database has none yet (the caller commits)."""
    clinic = uow.find(Clinic, 1)
    if clinic is None:
        uow.alone()  # replicas starting together: the first makes it, the others find it (api/store/unit_of_work.py)
        clinic = uow.find(Clinic, 1)
    if clinic is None:
        values = ClinicWrite(name=settings.clinic_name, timezone=settings.clinic_timezone)
        clinic = Clinic(id=1, **values.model_dump(mode="json"))
        uow.add(clinic)
        uow.flush()
    return clinic


def get_clinic(uow: UnitOfWork) -> Clinic:
    """The clinic row (made at start-up by `ensure_clinic`)."""
    clinic = uow.find(Clinic, 1)
    if clinic is None:  # a database migrated but never started: behave as a fresh clinic would
        return Clinic(
            id=1,
            name="Prolo clinic",
            timezone="UTC",
            opening_hours=DEFAULT_OPENING_HOURS,
            reminder_offsets_minutes=[2880, 120],
            quiet_hours={"start": "21:00", "end": "08:00"},
        )
    return clinic


def read_clinic(*, uow: UnitOfWork) -> ClinicRead:
    """The clinic's settings as the API shows them."""
    return ClinicRead.model_validate(get_clinic(uow), from_attributes=True)


def clinic_for_change(*, uow: UnitOfWork) -> ClinicRead:
    """The clinic's settings as GET shows them, the row locked."""
    return ClinicRead.model_validate(uow.lock(Clinic, 1), from_attributes=True)


def update_clinic(*, uow: UnitOfWork, values: ClinicWrite, now: datetime) -> ClinicRead:
    """Replace the clinic's settings. Booked sessions keep their instants; follow-up calls move with the days
    the clinic opens (R16)."""
    clinic = uow.find(Clinic, 1) or Clinic(id=1, **values.model_dump(mode="json"))
    open_before = _open_weekdays(clinic.opening_hours)
    for name, value in values.model_dump(mode="json").items():
        setattr(clinic, name, value)
    uow.add(clinic)
    uow.flush()
    if _open_weekdays(clinic.opening_hours) != open_before:
        from api.services.reminder_plans import replan_follow_ups  # it reads the clinic through this module

        replan_follow_ups(uow, now)
    return ClinicRead.model_validate(clinic, from_attributes=True)


def _open_weekdays(week: list[dict[str, str]]) -> set[str]:
    return {item["weekday"] for item in week}


def phone_for_people(clinic: Clinic) -> str | None:
    """The clinic's phone as people dial it from abroad too: "+49 30 1234567" (stored as E.164)."""
    return None if clinic.phone is None else _international(clinic.phone)


@lru_cache(maxsize=64)
def _international(e164: str) -> str:
    """Formatted once per number: every message a booking plans names the clinic's phone, and the formatting
    library parses and formats in Python."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def to_intervals(week: list[dict[str, str]]) -> tuple[HoursInterval, ...]:
    """Stored week hours as the planner's values."""
    return tuple(
        HoursInterval(
            weekday=WEEKDAYS.index(item["weekday"]),
            start=time.fromisoformat(item["start"]),
            end=time.fromisoformat(item["end"]),
        )
        for item in week
    )
