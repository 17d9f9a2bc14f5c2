"""`prolo demo`: a realistic demo clinic in an empty database, so a newcomer sees a filled day view at once.

Everything is made through the real use cases, so every session obeys the planner (R2–R6).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlmodel import col

from api.services.calendars import local_day_bounds
from api.services.clinic import ensure_clinic, update_clinic
from api.services.closures import import_holidays, list_closures
from api.services.courses import book_course, cancel_course
from api.services.links import load_keys
from api.services.patients import create_patient
from api.services.practitioners import create_practitioner
from api.services.protocols import create_protocol, default_protocol
from api.settings import Settings
from api.store import actors
from api.store.unit_of_work import UnitOfWork, writing
from models import (
    ClinicWrite,
    Course,
    CourseCreate,
    HolidayImport,
    Patient,
    PatientCreate,
    Practitioner,
    PractitionerCreate,
    ProtocolCreate,
    Session,
    WeekHours,
)
from models.hours import WEEKDAYS

CLINIC_NAME = "Riverside Prolotherapy (demo)"
CLINIC_PHONE = "+49 30 90182700"  # printed on the aftercare handout (a made-up number)
HOLIDAY_COUNTRY = "DE"
KNEE_PROTOCOL = "Prolotherapy — knee, 5 × every 21 days"

# A lunch break every day; Thursday stays open late for patients who work office hours.
OPENING_HOURS = {
    "mon": [("08:00", "12:30"), ("13:30", "17:00")],
    "tue": [("08:00", "12:30"), ("13:30", "17:00")],
    "wed": [("08:00", "12:30"), ("13:30", "17:00")],
    "thu": [("08:00", "12:30"), ("13:30", "19:30")],
    "fri": [("08:00", "13:00")],
}
# Nobody here is in the README's worked example (Maria Keller, MRN-004211, and Dr. Amara Okafor),
# so the example works the same on a demo database.
HADDAD, WEBER = "Dr. Nadia Haddad", "Dr. Jonas Weber"
PRACTITIONERS = {
    HADDAD: None,  # full time: follows the clinic's opening hours
    WEBER: {"tue": [("09:00", "15:00")], "wed": [("09:00", "15:00")], "thu": [("12:00", "19:30")]},  # part time
}

# Made-up people; phone numbers pass E.164 validation, e-mail addresses are on example.org (RFC 2606).
PATIENTS = [  # mrn, given, family, born, phone, e-mail, reminder channel, consent, medications, allergies
    (
        "MRN-004209",
        "Greta",
        "Lorenz",
        "1971-04-09",
        "+49 30 23125401",
        "greta.lorenz",
        "email",
        True,
        ["metformin"],
        [],
    ),
    (
        "MRN-004212",
        "Thomas",
        "Becker",
        "1966-11-23",
        "+49 151 23456701",
        "thomas.becker",
        "sms",
        True,
        ["Advil 200 mg", "pantoprazole"],
        ["penicillin"],
    ),  # an NSAID: bookings and restrictions warn about it (R15)
    ("MRN-004215", "Aylin", "Demir", "1984-02-17", "+49 176 12345678", "aylin.demir", "sms", True, [], []),
    (
        "MRN-004219",
        "Lukas",
        "Hoffmann",
        "1958-07-30",
        "+49 89 21803301",
        "lukas.hoffmann",
        "email",
        False,
        ["levothyroxine"],
        [],
    ),  # declined reminders: staff see them `skipped` with the reason (R18)
    ("MRN-004220", "Sophie", "Wagner", "1992-05-03", "+49 170 5550112", "sophie.wagner", "email", True, [], ["latex"]),
    ("MRN-004224", "Jan", "Schulz", "1979-09-12", "+49 40 42861102", "jan.schulz", "outbox", True, ["metoprolol"], []),
    (
        "MRN-004231",
        "Elena",
        "Rossi",
        "1962-01-25",
        "+39 06 69884321",
        "elena.rossi",
        "email",
        True,
        ["metformin", "atorvastatin"],
        ["sulfonamides"],
    ),
    ("MRN-004236", "Fatma", "Yıldız", "1988-08-14", "+49 160 98765432", None, "sms", True, [], []),
    (
        "MRN-004240",
        "Peter",
        "Neumann",
        "1955-03-02",
        "+49 221 1234567",
        "peter.neumann",
        "none",
        False,
        ["paracetamol"],
        [],
    ),
    (
        "MRN-004243",
        "Hannah",
        "Fischer",
        "1975-12-19",
        "+44 20 79460321",
        "hannah.fischer",
        "email",
        True,
        ["sertraline"],
        ["codeine"],
    ),
    ("MRN-004247", "Mehmet", "Kaya", "1969-06-06", "+49 176 55501234", "mehmet.kaya", "sms", False, ["omeprazole"], []),
    (
        "MRN-004250",
        "Claire",
        "Dubois",
        "1990-10-28",
        "+33 1 42685300",
        "claire.dubois",
        "outbox",
        False,
        [],
        ["sulfonamides"],
    ),  # registered, no course yet: someone for a newcomer to book
]

# Start dates are days from the day-view date. Starts 14, 28 or 42 days back fall on its weekday,
# so with the 14-day interval (R3) their next session lands on that very day; the 21-day knee
# course started 21 days back does the same.
COURSES = [  # mrn, practitioner, protocol, start, preferred time, condition, cancelled because
    ("MRN-004209", HADDAD, "default", -42, "08:30", "chronic low back pain, sacroiliac joint", None),
    ("MRN-004212", HADDAD, "default", -28, "09:15", "lumbar facet joint pain, L4–L5", None),
    ("MRN-004219", HADDAD, "default", -28, "11:00", "rotator cuff tendinopathy, right shoulder", None),
    ("MRN-004215", HADDAD, "default", -14, "10:00", "chronic low back pain, iliolumbar ligament", None),
    ("MRN-004220", HADDAD, "default", -14, "14:00", "lateral epicondylitis, left elbow", None),
    ("MRN-004243", HADDAD, "default", -7, "15:30", "greater trochanteric pain, right hip", None),
    ("MRN-004224", WEBER, "default", -28, "09:00", "whiplash-associated neck pain", None),
    ("MRN-004231", WEBER, "knee", -21, "10:30", "knee osteoarthritis, medial collateral ligament", None),
    ("MRN-004247", WEBER, "default", -14, "13:00", "chronic low back pain, sacroiliac joint", None),
    ("MRN-004236", HADDAD, "default", 7, "16:00", "plantar fasciitis, left heel", None),
    ("MRN-004240", WEBER, "default", 10, "09:30", "chronic neck pain", "Patient chose physiotherapy first"),
]


def fill_demo(*, engine: Engine, settings: Settings, now: datetime) -> str:
    """Fill an empty database with the demo clinic in one transaction; refuse one that holds clinic data."""
    # Use cases never commit: all of them run in this one writer's transaction, so the demo lands
    # whole or not at all, and the emptiness check cannot go stale.
    with writing(engine, actor=actors.COMMAND_LINE, action="demo", now=now) as uow:
        uow.link_keys = load_keys(uow=uow, settings=settings, now=now)  # links in its messages, as the server's
        held = {
            "patients": uow.execute(select(func.count()).select_from(Patient)).scalar_one(),
            "practitioners": uow.execute(select(func.count()).select_from(Practitioner)).scalar_one(),
        }
        if any(held.values()):  # a real clinic's data is never mixed with made-up people
            found = ", ".join(f"{n} {what}" for what, n in held.items() if n)
            return (
                f"Refused: this database already holds {found}, and the demo fills only an empty one. "
                "Nothing was written. Point PROLO_DATABASE_URL at a new database to try the demo."
            )
        summary = _fill(uow, settings=settings, now=now)
    return summary


def _fill(uow: UnitOfWork, *, settings: Settings, now: datetime) -> str:
    clinic = ensure_clinic(uow=uow, settings=settings)  # made from PROLO_CLINIC_TIMEZONE; its zone is kept
    hours = _week(OPENING_HOURS)
    update_clinic(
        uow=uow,
        values=ClinicWrite(name=CLINIC_NAME, timezone=clinic.timezone, opening_hours=hours, phone=CLINIC_PHONE),
        now=now,
    )
    zone = clinic.zone
    today = now.astimezone(zone).date()
    # From the year the oldest course started (early January reaches back into December) to next year.
    years = range((today + timedelta(days=min(start for _, _, _, start, *_ in COURSES))).year, today.year + 2)
    closures = sum(
        len(import_holidays(uow=uow, request=HolidayImport(country=HOLIDAY_COUNTRY, year=y), now=now)) for y in years
    )
    day = _next_working_day(uow, today)

    practitioners = {
        name: create_practitioner(
            uow=uow,
            values=PractitionerCreate(
                name=name,
                working_hours=_week(week) if week else None,
            ),
        ).id
        for name, week in PRACTITIONERS.items()
    }
    default = default_protocol(uow)
    knee = create_protocol(
        uow=uow,
        values=ProtocolCreate(
            # One joint needs fewer, wider-spaced sessions and less chair time than a spinal course.
            name=KNEE_PROTOCOL,
            session_count=5,
            interval_days=21,
            session_minutes=30,
            rules=default.rules,
            injectate="dextrose 25% intra-articular, 15% peri-articular, with lidocaine 1%",
        ),
    )
    protocols = {"default": default.id, "knee": knee.id}
    patients = {
        mrn: create_patient(
            uow=uow,
            values=PatientCreate(
                mrn=mrn,
                given_name=given,
                family_name=family,
                date_of_birth=date.fromisoformat(born),
                phone=phone,
                email=f"{mail}@example.org" if mail else None,
                reminder_channel=channel,
                reminder_consent=consent,
                medications=medications,
                allergies=allergies,
            ),
        ).id
        for mrn, given, family, born, phone, mail, channel, consent, medications, allergies in PATIENTS
    }

    for mrn, who, protocol, offset, at, condition, cancelled_because in COURSES:
        start = day + timedelta(days=offset)
        # The planner places nothing before its `now`; older courses were booked a week before they
        # started, which lets their first sessions lie in the past weeks.
        booked_at = min(now, datetime.combine(start - timedelta(days=7), time(), zone))
        course = book_course(
            uow=uow,
            now=booked_at,
            request=CourseCreate(
                patient_id=patients[mrn],
                practitioner_id=practitioners[who],
                protocol_id=protocols[protocol],
                start_date=start,
                preferred_time=at,
                condition=condition,
            ),
        )
        if cancelled_because:
            cancel_course(uow=uow, course_id=course.id, reason=cancelled_because, now=now)
    return _summary(uow, zone=zone, today=today, day=day, closures=closures, years=years)


def _week(hours: dict[str, list[tuple[str, str]]]) -> list[WeekHours]:
    return [WeekHours(weekday=d, start=s, end=e) for d, intervals in hours.items() for s, e in intervals]


def _next_working_day(uow: UnitOfWork, today: date) -> date:
    """Today, or after a weekend or holiday the next day the clinic opens: the day view worth showing."""
    closed = {
        c.start_date + timedelta(days=n)
        for c in list_closures(uow=uow, from_date=today, to_date=today + timedelta(days=31), limit=500, offset=0).items
        for n in range((c.end_date - c.start_date).days + 1)
    }
    day = today
    while WEEKDAYS[day.weekday()] not in OPENING_HOURS or day in closed:
        day += timedelta(days=1)
    return day


def _summary(uow: UnitOfWork, *, zone: ZoneInfo, today: date, day: date, closures: int, years: range) -> str:
    status = col(Course.status)
    by_status = {name: n for name, n in uow.execute(select(status, func.count()).group_by(status).order_by(status))}
    sessions = uow.execute(select(func.count()).select_from(Session)).scalar_one()
    start, end = local_day_bounds(day, day, zone)
    on_day = uow.execute(select(func.count()).where(col(Session.start_at) >= start, col(Session.start_at) < end))
    shown = f"{day:%A} {day}"
    when = f"Today, {shown}," if day == today else f"Today, {today:%A} {today}, the clinic is closed; {shown}"
    statuses = ", ".join(f"{n} {name}" for name, n in by_status.items())
    return "\n".join(
        [
            f"Demo clinic {CLINIC_NAME!r} ({zone.key}) is ready:",
            f"  {len(PRACTITIONERS)} practitioners, {len(PATIENTS)} patients, a knee protocol beside the default, "
            f"{closures} public holidays ({HOLIDAY_COUNTRY}, {years[0]}–{years[-1]})",
            f"  {sum(by_status.values())} courses ({statuses}) with {sessions} sessions",
            f"{when} has {on_day.scalar_one()} sessions.",
            "Start the API with `prolo serve` (a new database prints its admin key), open /docs, Authorize,",
            f"and call GET /v1/sessions?date={day}",
        ]
    )
