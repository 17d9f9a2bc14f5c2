"""The aftercare handout staff print for the patient (S11), as data for its template (api/handout/).

It lists the sessions that took place or will, the same ones that have aftercare (R14):
a cancelled or missed session had no injection, so it has nothing to avoid or expect,
and printing it would only invite the patient to come on a day nobody expects them.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import col

from api.services.aftercare import session_windows
from api.services.clinic import get_clinic, phone_for_people
from api.store.unit_of_work import UnitOfWork
from models import Course, Patient, Session
from scheduling.aftercare import (
    AVOID_MEDICATION,
    EXERCISE,
    EXPECT_SYMPTOMS,
    KINDS,
    WINDOW_STATUSES,
    Rule,
    SessionRef,
    Window,
    rules_from,
)
from scheduling.medications import medication_warnings
from scheduling.spans import DateRange


@dataclass(frozen=True)
class Visit:
    """One session on the handout, with its window of every rule, in the rules' order."""

    number: int
    start_local: datetime  # in the clinic's zone
    windows: tuple[Window, ...]

    @property
    def day(self) -> date:
        return self.start_local.date()


@dataclass(frozen=True)
class Pause:
    """Drugs of the patient's own list to pause on the same days (R15), said once for all of them."""

    # (the entry as the patient's list writes it, the drug it holds): ("Advil 200 mg", "ibuprofen")
    medications: tuple[tuple[str, str], ...]
    days: tuple[DateRange, ...]


@dataclass(frozen=True)
class Handout:
    clinic_name: str
    clinic_phone: str | None  # as people dial it
    first_name: str
    rules: tuple[Rule, ...]  # by R12 kind: what to avoid first
    visits: tuple[Visit, ...]
    pauses: tuple[Pause, ...]

    def instructions(self, kind: str) -> list[str]:
        return [rule.instruction for rule in self.rules if rule.kind == kind]

    @property
    def avoided(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.kind == AVOID_MEDICATION]

    @property
    def expected(self) -> list[str]:
        return self.instructions(EXPECT_SYMPTOMS)

    @property
    def exercises(self) -> list[str]:
        return self.instructions(EXERCISE)


def course_handout(*, uow: UnitOfWork, course_id: uuid.UUID) -> Handout:
    """The handout of a course: its sessions, what to avoid and until when, and the patient's drugs to pause."""
    course = uow.get(Course, course_id)
    patient = uow.get(Patient, course.patient_id)
    clinic = get_clinic(uow)
    zone = clinic.zone
    sessions = [
        s
        for s in uow.execute(select(Session).where(col(Session.course_id) == course.id)).scalars()
        if s.status in WINDOW_STATUSES
    ]
    sessions.sort(key=lambda s: (s.start_at, s.number))
    rules = tuple(sorted(rules_from(course.rules), key=lambda r: KINDS.index(r.kind)))
    windows = session_windows(uow, clinic, [(SessionRef(str(s.id), s.start_at), rules) for s in sessions])
    visits = tuple(
        Visit(
            number=s.number,
            start_local=s.start_at.astimezone(zone),
            windows=tuple(w for r in rules for w in windows if w.session_id == str(s.id) and w.rule_code == r.code),
        )
        for s in sessions
    )
    same_days: dict[tuple[DateRange, ...], list[tuple[str, str]]] = {}
    for warning in medication_warnings(patient.medications, windows):
        same_days.setdefault(warning.pause, []).append((warning.medication, warning.drug))
    pauses = tuple(Pause(tuple(medications), days) for days, medications in same_days.items())
    return Handout(
        clinic_name=clinic.name,
        clinic_phone=phone_for_people(clinic),
        first_name=patient.given_name,
        rules=rules,
        visits=visits,
        pauses=pauses,
    )
