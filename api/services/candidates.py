"""Who may be offered an opening (R41, R42): each waiting entry judged by the core's `fit`, ranked.

The course is loaded as the R8 reschedule loads it — its calendar for exactly the dates the move and
its reflow may reach, without its own sessions, and with the opening's own hold left out — so the
offer's dry run is the reschedule's dry run.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from api.services.calendars import load_calendar
from api.services.clinic import get_clinic, to_intervals
from api.services.contacts import patient_contact
from api.services.planning import planner_values
from api.store.unit_of_work import UnitOfWork
from models import Course, Patient, Practitioner, Session, WaitlistEntry, WaitlistOffer, WaitlistOpening
from scheduling import CourseSession, ReschedulePlan, reschedule_reach
from scheduling.aftercare import rules_from
from scheduling.lifecycle import ACTIVE
from scheduling.reminders import skip_reason
from scheduling.waitlist import (
    Entry,
    EntryStatus,
    Mode,
    OfferStatus,
    Opening,
    Reach,
    Unfit,
    WaitlistSettings,
    fit,
    rank_key,
)


@dataclass(frozen=True)
class Candidate:
    row: WaitlistEntry
    entry: Entry
    plan: ReschedulePlan


def waitlist_settings(uow: UnitOfWork) -> WaitlistSettings:
    """The clinic's waitlist settings as the core reads them."""
    stored = get_clinic(uow).waitlist
    return WaitlistSettings(**{**stored, "mode": Mode(stored["mode"])})


def fitting(uow: UnitOfWork, opening: WaitlistOpening, now: datetime) -> list[Candidate]:
    """Every waiting entry of the practitioner that fits the opening and was never offered it, in R42's order."""
    offered = select(col(WaitlistOffer.entry_id)).where(col(WaitlistOffer.opening_id) == opening.id)
    waiting = select(WaitlistEntry).where(
        col(WaitlistEntry.practitioner_id) == opening.practitioner_id,
        col(WaitlistEntry.status) == EntryStatus.waiting,
        col(WaitlistEntry.id).not_in(offered),
    )
    settings = waitlist_settings(uow)
    target = Opening(str(opening.practitioner_id), opening.start_at, opening.end_at)
    found = []
    for row in uow.execute(waiting).scalars().all():
        entry = _entry(uow, row, opening, now)
        if entry is None:
            continue
        plan = fit(entry, target, settings, now=now)
        if not isinstance(plan, Unfit):
            found.append(Candidate(row, entry, plan))
    found.sort(
        key=lambda c: rank_key(c.entry.priority, c.entry.reach.offers_last_30_days, c.entry.sequence, c.entry.id)
    )
    return found


def _entry(uow: UnitOfWork, row: WaitlistEntry, opening: WaitlistOpening, now: datetime) -> Entry | None:
    session = uow.get(Session, row.session_id)
    if session.status not in ACTIVE or session.start_at <= opening.start_at:
        return None  # nothing to gain (R41): not worth loading the course
    course = uow.get(Course, row.course_id)
    rows = uow.course_sessions(course.id)
    clinic = get_clinic(uow)
    zone = clinic.zone
    values = planner_values(course, len(rows))
    later = [s.start_at for s in rows if s.number > session.number and s.status in ACTIVE]
    calendar = load_calendar(
        uow,
        practitioner=uow.get(Practitioner, course.practitioner_id),
        patient_id=course.patient_id,
        span=reschedule_reach(values, zone, new_start_at=opening.start_at, later_start_ats=later),
        now=now,
        clinic=clinic,
        exclude_course_id=course.id,
        ignore_hold=opening.id,
    )
    created = row.created_at
    return Entry(
        id=str(row.id),
        sequence=int(created.timestamp() * 1_000_000),  # R42: first come (microseconds), then the id
        priority=row.priority,
        practitioner_id=str(row.practitioner_id),
        number=session.number,
        earliest_date=row.earliest_date,
        availability=to_intervals(row.availability),
        calendar=calendar,
        protocol=values,
        sessions=[CourseSession(s.number, s.start_at, s.end_at, s.status) for s in rows],
        rules=rules_from(course.rules),
        anchor_time=rows[0].start_at.astimezone(zone).time().replace(tzinfo=None),
        reach=reach(uow, uow.get(Patient, row.patient_id), now),
    )


def reach(uow: UnitOfWork, patient: Patient, now: datetime) -> Reach:
    """R41: may the patient be offered anything now (reachable, no other open offer, under the weekly cap)?"""
    contact = patient_contact(uow, patient)
    reachable = skip_reason(contact) is None and patient.reminder_channel in ("email", "sms")

    def count(*where: object) -> int:
        query = select(func.count()).where(col(WaitlistOffer.patient_id) == patient.id, *where)  # type: ignore[arg-type]
        found: int = uow.execute(query).scalar_one()
        return found

    return Reach(
        reachable=reachable,
        open_offers=count(col(WaitlistOffer.status) == OfferStatus.open),
        offers_last_7_days=count(col(WaitlistOffer.created_at) > now - timedelta(days=7)),
        offers_last_30_days=count(col(WaitlistOffer.created_at) > now - timedelta(days=30)),
    )
