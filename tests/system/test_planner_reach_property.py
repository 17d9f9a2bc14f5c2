"""The booking service plans exactly as it would with the whole diary in hand (R5, R7).

Hypothesis generates a clinic and a practitioner's diary spread over 200+ days: other
patients' bookings, days off, closures, and the patient's own sessions with another
practitioner. Each example is stored in the real database (SQLite or PostgreSQL) and
previewed through the service's own loading path, which loads only what the core says
the question reaches. The same question is then planned on a calendar built in memory
from everything that was stored. The two plans must be the same: nothing the
service left unloaded could have changed the answer.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session as DbSession
from sqlmodel import col

from api.services.courses import preview_course
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Closure, Course, CourseCreate, Patient, Practitioner, Session, TimeOff
from models.hours import WEEKDAYS
from models.protocol import Protocol
from scheduling import Busy, Calendar, DateRange, HoursInterval, NoSlotAvailable, ProtocolValues, plan_course
from tests.conftest import Database

ZONE = ZoneInfo("Europe/Berlin")  # crosses both 2027 DST changes within the generated days
NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
ORIGIN = date(2027, 2, 1)
SPREAD_DAYS = 330
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Week = list[tuple[int, str, str]]  # weekday, start, end
OFFICE: Week = [(d, "08:00", "17:00") for d in range(5)]
EVERY_DAY: Week = [(d, "08:00", "17:00") for d in range(7)]
SPLIT: Week = [(d, a, b) for d in range(6) for a, b in (("08:00", "12:00"), ("13:00", "18:00"))]


def local_at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), ZONE).astimezone(UTC)


def day_of(offset: int) -> date:
    return ORIGIN + timedelta(days=offset)


def quarter(n: int) -> str:
    """The n-th quarter hour of the day as HH:MM."""
    return f"{n // 4:02d}:{n % 4 * 15:02d}"


@st.composite
def diaries(draw: st.DrawFn) -> dict[str, Any]:
    """A clinic, a protocol and a busy practitioner's diary, spread over SPREAD_DAYS days."""
    interval = draw(st.integers(7, 21))
    protocol = ProtocolValues(
        session_count=draw(st.integers(2, 8)),
        interval_days=interval,
        interval_tolerance_days=draw(st.integers(0, min(5, interval - 1))),
        min_interval_days=draw(st.integers(0, interval)),
        session_minutes=draw(st.sampled_from([30, 45, 60])),
    )
    closures = draw(
        st.lists(st.tuples(st.integers(0, SPREAD_DAYS), st.integers(0, 9)), max_size=20).map(
            lambda items: [DateRange(day_of(a), day_of(a + n)) for a, n in items]
        )
    )
    start_offset = draw(st.integers(0, 40))
    # Days off: from an hour to a fortnight, so that whole windows fill up and R6 pushes follow.
    hours_off = draw(st.lists(st.tuples(st.integers(0, SPREAD_DAYS * 24), st.integers(1, 14 * 24)), max_size=14))
    # Leave at the start (session 1 then needs R2's long search), and leave in a rhythm that fills
    # each later window and most of R6's week after it, so that the sessions are pushed in a row.
    leading = draw(st.integers(0, 89))
    if leading:
        hours_off.append((start_offset * 24, leading * 24))
    if draw(st.booleans()):
        # Each block covers a window (target ± tolerance) and the first `late` days after it, so
        # the session lands on day `late` + 1 of R6's week, and the next window is blocked again.
        tolerance, late = protocol.interval_tolerance_days, draw(st.integers(1, 6))
        period = protocol.interval_days + tolerance + late + 1
        first = start_offset + leading + protocol.interval_days - tolerance
        hours_off += [((first + k * period) * 24, (2 * tolerance + 1 + late) * 24) for k in range(8)]
    time_off = [
        Busy(local_at(ORIGIN, 0) + timedelta(hours=h), local_at(ORIGIN, 0) + timedelta(hours=h + n))
        for h, n in hours_off
    ]
    # Other patients' sessions: at most one a day, on the quarter hours, mostly where a course's
    # sessions go (08:00 without a preferred time, else around 09:00 and 10:00).
    booked_days = draw(st.sets(st.integers(0, SPREAD_DAYS), max_size=120))
    minute = st.sampled_from([480, 540, 600]) | st.integers(32, 64).map(lambda q: q * 15)
    bookings = [
        Busy(local_at(day_of(d), m), local_at(day_of(d), m) + timedelta(minutes=45))
        for d in sorted(booked_days)
        for m in [draw(minute)]
    ]
    own_days = draw(st.sets(st.integers(0, SPREAD_DAYS), max_size=6))
    own = [Busy(local_at(day_of(d), 600), local_at(day_of(d), 645)) for d in sorted(own_days)]
    return {
        "protocol": protocol,
        "week": draw(st.sampled_from([EVERY_DAY, EVERY_DAY, OFFICE, SPLIT])),
        "slot_minutes": draw(st.sampled_from([15, 30])),
        "closures": closures,
        "time_off": time_off,
        "bookings": bookings,
        "own": own,
        "start_date": day_of(start_offset),
        "preferred": draw(st.sampled_from([None, "09:00", "10:00"]) | st.integers(32, 64).map(quarter)),
    }


def _course(patient: Patient, practitioner: Practitioner, protocol: Protocol, count: int) -> Course:
    return Course(
        patient_id=patient.id,
        practitioner_id=practitioner.id,
        protocol_id=protocol.id,
        condition="knee",
        start_date=ORIGIN,
        session_count=count,
        interval_days=14,
        interval_tolerance_days=3,
        min_interval_days=7,
        session_minutes=45,
        injectate="dextrose 15%",
        rules=[],
        warnings=[],
        created_at=NOW,
    )


def _person(mrn: str) -> Patient:
    return Patient(
        mrn=mrn,
        given_name="Ada",
        family_name="Test",
        given_name_key="ada",
        family_name_key="test",
        date_of_birth=date(1970, 1, 1),
        medications=[],
        allergies=[],
    )


def store(db: DbSession, diary: dict[str, Any]) -> CourseCreate:
    """Everything in the diary as rows of this transaction; the booking request to preview."""
    clinic = db.get(Clinic, 1) or Clinic(
        id=1, name="Clinic", timezone="UTC", opening_hours=[], reminder_offsets_minutes=[], quiet_hours={}
    )
    clinic.timezone = ZONE.key
    clinic.opening_hours = [{"weekday": WEEKDAYS[d], "start": a, "end": b} for d, a, b in diary["week"]]
    clinic.slot_minutes = diary["slot_minutes"]
    protocol = db.execute(select(Protocol).where(col(Protocol.is_default))).scalar_one()
    practitioner = Practitioner(name="Dr. Reach", working_hours=None)
    other_practitioner = Practitioner(name="Dr. Other", working_hours=None)
    patient, other_patient = _person("PROP-1"), _person("PROP-2")
    others = _course(other_patient, practitioner, protocol, len(diary["bookings"]))
    own = _course(patient, other_practitioner, protocol, len(diary["own"]))
    db.add_all([clinic, practitioner, other_practitioner, patient, other_patient])
    db.flush()
    db.add_all([others, own])
    db.flush()
    for course, spans in ((others, diary["bookings"]), (own, diary["own"])):
        for number, span in enumerate(spans, start=1):
            db.add(
                Session(
                    course_id=course.id,
                    patient_id=course.patient_id,
                    practitioner_id=course.practitioner_id,
                    number=number,
                    start_at=span.start_at,
                    end_at=span.end_at,
                    warnings=[],
                )
            )
    db.add_all(Closure(start_date=c.start_date, end_date=c.end_date, reason="closed") for c in diary["closures"])
    db.add_all(
        TimeOff(practitioner_id=practitioner.id, start_at=t.start_at, end_at=t.end_at, reason="off")
        for t in diary["time_off"]
    )
    db.flush()
    values: ProtocolValues = diary["protocol"]
    protocol.session_count = values.session_count
    protocol.interval_days = values.interval_days
    protocol.interval_tolerance_days = values.interval_tolerance_days
    protocol.min_interval_days = values.min_interval_days
    protocol.session_minutes = values.session_minutes
    db.flush()
    return CourseCreate(
        patient_id=patient.id,
        practitioner_id=practitioner.id,
        start_date=diary["start_date"],
        preferred_time=diary["preferred"],
        condition="knee",
    )


def whole_diary(diary: dict[str, Any]) -> Calendar:
    """Everything stored, in memory, with no span: the calendar that knows every day."""
    week = tuple(HoursInterval(d, time.fromisoformat(a), time.fromisoformat(b)) for d, a, b in diary["week"])
    return Calendar(
        ZONE,
        week,
        week,
        diary["slot_minutes"],
        closures=tuple(diary["closures"]),
        time_off=tuple(diary["time_off"]),
        practitioner_busy=tuple(diary["bookings"]),
        patient_busy=tuple(diary["own"]),
    )


Outcome = list[tuple[int, datetime, tuple[str, ...]]] | tuple[Any, ...]


def through_the_service(database: Database, diary: dict[str, Any]) -> Outcome:
    with DbSession(database.engine) as db:
        try:
            request = store(db, diary)
            try:
                reader = UnitOfWork(db, actor=None, action="preview", now=None, dry_run=False, writes=False)
                course = preview_course(uow=reader, request=request, now=NOW)
            except NoSlotAvailable as refused:
                return refused.args
            return [(s.number, s.start, tuple(w.code for w in s.warnings)) for s in course.sessions]
        finally:
            db.rollback()  # nothing of the example stays for the next one


def with_everything(diary: dict[str, Any]) -> Outcome:
    values: ProtocolValues = diary["protocol"]  # what the booking copies from the stored protocol
    preferred = time.fromisoformat(diary["preferred"]) if diary["preferred"] else None
    try:
        plan = plan_course(
            whole_diary(diary), values, start_date=diary["start_date"], preferred_time=preferred, now=NOW
        )
    except NoSlotAvailable as refused:
        return refused.args
    return [(s.number, s.start_at, s.warnings) for s in plan.sessions]


@PROPERTY
@given(diary=diaries())
def test_the_service_plans_as_if_it_had_loaded_every_day(clean_db: Database, diary: dict[str, Any]) -> None:
    expected = with_everything(diary)
    assert through_the_service(clean_db, diary) == expected
    if isinstance(expected, list):
        # Steer towards plans pushed late (a late session 1, R6 pushes): the days past the nominal
        # course length are where a loader that stopped short would have missed something.
        values: ProtocolValues = diary["protocol"]
        last = expected[-1][1].astimezone(ZONE).date()
        late = (last - diary["start_date"]).days - (values.session_count - 1) * values.interval_days
        target(float(late), label="days the plan runs late")
        event("late by more than 4 weeks" if late > 28 else "planned")
    else:
        event("NoSlotAvailable")
