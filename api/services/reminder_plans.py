"""Keeping a course's reminders in step with its sessions (R16–R19).

Every change to a course or its sessions replans the course's reminders in the
same transaction: reminders whose key is still planned stay, pending (or skipped)
ones no longer planned are cancelled, new ones are added, and a reminder planned
again after it was cancelled (a session moved away and back) is revived under its
old key. Sent reminders are never touched (R19).

A kept reminder takes what the plan says now: its status and reason, and its channel,
address and text. The key covers neither (the same message, not a second one), so a
patient who changed their phone, email, channel, consent or name is written to at the
new address, by the new name, or not at all; a reminder being sent right now keeps its
status (its dispatcher holds it) but a retry goes to the new address. Every change to a
patient replans through :func:`sync_patient_reminders` (api/services/patients.py).

One message a day (R38) is per patient: the date-based reminders ride with a carrier in any of the
patient's courses. One indexed read finds the patient's other live reminders; a course that shares a
(channel, local date) with the one being planned, or has riders on its carriers, is replanned with it in
the same transaction, and the merge runs over them together (in the same order whichever course asked).

A pending reminder already due, that no dispatcher has sent yet, is still planned: the
planner is asked from its due time on, so a replan a minute after it fell due does not
cancel it (R18 only keeps a new one from being made for a time already past).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlmodel import col

from api.services.calendars import load_open_days, local_day_bounds
from api.services.change_notices import sync_change_notice
from api.services.clinic import get_clinic, phone_for_people
from api.services.contacts import patient_contact
from api.services.links import message_links
from api.services.offer_messages import replan_offer_messages
from api.store.db import Prepared, one_of
from api.store.unit_of_work import UnitOfWork
from models import Clinic, Course, Patient, Reminder, Session
from models.base import new_id
from scheduling.aftercare import SessionRef, follow_up_rule_days, rules_from
from scheduling.hygiene import DATE_BASED, TIME_BASED, merge_same_day, stale_reason
from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.open_days import FOLLOW_UP_REACH_DAYS
from scheduling.reminders import (
    APPOINTMENT,
    CHANGE_NOTICE,
    CONFIRM_REQUEST,
    PlannedReminder,
    ReminderKind,
    ReminderSettings,
    ReminderStatus,
    SessionInfo,
    plan_reminders,
)
from scheduling.spans import DateRange

_REPLANNABLE = (ReminderStatus.pending, ReminderStatus.skipped)
_STOPPED = (CourseStatus.cancelled, CourseStatus.on_hold)  # R9: their reminders stop
# not yet delivered: a retry of one being sent goes out again, so it too follows the patient's address
_FOLLOWS_THE_PATIENT = (*_REPLANNABLE, ReminderStatus.sending, ReminderStatus.merged)
_JUST_BEFORE = timedelta(microseconds=1)


def plan_new_course_reminders(
    uow: UnitOfWork, course: Course, sessions: list[Session], now: datetime, *, patient: Patient, clinic: Clinic
) -> None:
    """Every reminder of a course booked in this transaction, which has none yet; call before the commit.

    The course and its sessions are stored already: the reminders refer to them.
    """
    _replan(uow, _planned_new(uow, course, sessions, now, patient, clinic), patient, clinic, now)


def sync_course_reminders(uow: UnitOfWork, course: Course, now: datetime) -> None:
    """Replan every reminder of the course's sessions, and the patient's change notice (R37); call before
    the use case commits."""
    uow.flush()
    patient = uow.find(Patient, course.patient_id)
    assert patient is not None  # a foreign key
    clinic = get_clinic(uow)
    _replan(uow, _planned(uow, course, now, patient, clinic), patient, clinic, now)
    sync_change_notice(uow, patient, clinic, now)


@dataclass
class _CourseReplan:
    """One course's reminders as stored and as planned now, before R38 merges them."""

    course: Course
    sessions: list[Session]
    existing: dict[str, Any]  # the stored reminders (Reminder) by idempotency key
    bygone: set[str]  # skipped, and their moment passed: they stay so (R33, R18)
    live: set[str]  # not yet on its way: replanned freely
    sending: set[str]
    planned: list[PlannedReminder]
    free: list[PlannedReminder]  # planned, and free to merge (nothing that left)


def _planned_new(
    uow: UnitOfWork, course: Course, sessions: list[Session], now: datetime, patient: Patient, clinic: Clinic
) -> _CourseReplan:
    plans = _plan(uow, course, sessions, now, patient, clinic)
    return _CourseReplan(course, sessions, {}, set(), set(), set(), plans, plans)


def _planned(uow: UnitOfWork, course: Course, now: datetime, patient: Patient, clinic: Clinic) -> _CourseReplan:
    sessions = list(uow.execute(select(Session).where(col(Session.course_id) == course.id)).scalars())
    # a change notice and a waitlist offer's message are not the course's plan: each is kept by its own use case
    existing: dict[str, Any] = {
        r.idempotency_key: r
        for r in uow.execute(
            select(Reminder).where(
                col(Reminder.session_id).in_([s.id for s in sessions]),
                col(Reminder.kind).not_in([CHANGE_NOTICE, ReminderKind.waitlist_offer]),
            )
        ).scalars()
    }
    # R33, R18: a skipped reminder whose moment passed stays skipped (an opt-in or consent given later
    # does not send yesterday's message), and keeps its reason
    bygone = {key for key, row in existing.items() if row.status == ReminderStatus.skipped and row.due_at <= now}
    live = _live(existing, _carriers_elsewhere(uow, existing)) - bygone  # not yet on its way: replanned freely
    sending = {key for key, row in existing.items() if row.status == ReminderStatus.sending}
    keep = live | sending
    # from the earliest undelivered one's due time: one due but not yet sent is still planned (module docstring)
    since = min([now, *(existing[key].due_at - _JUST_BEFORE for key in keep)])
    # R36: a stopped course keeps only what its completed sessions' aftercare still says
    kept = [s for s in sessions if course.status not in _STOPPED or s.status == SessionStatus.completed]
    planned = [
        p
        for p in (_plan(uow, course, kept, since, patient, clinic) if kept else [])
        if p.due_at > now or p.idempotency_key in keep
    ]
    # what has left (sent, failed, riding with one that left) is never planned again (R19); one being sent
    # keeps its text and carries nobody, but a retry follows the patient's address
    free = [
        p
        for p in planned
        if p.idempotency_key not in existing or p.idempotency_key in live or _revivable(existing[p.idempotency_key])
    ]
    return _CourseReplan(course, sessions, existing, bygone, live, sending, planned, free)


# the patient's live reminders in their other courses (R38), built once: every booking asks
_OTHERS_LIVE = Prepared(
    select(
        col(Reminder.id),
        col(Reminder.status),
        col(Reminder.channel),
        col(Reminder.due_at),
        col(Reminder.merged_into),
        col(Session.course_id),
    )
    .join(Session, col(Session.id) == col(Reminder.session_id))
    .where(
        col(Reminder.patient_id) == bindparam("patient_id"),
        one_of(col(Reminder.status), [ReminderStatus.pending, ReminderStatus.merged]),
        one_of(col(Reminder.kind), DATE_BASED | TIME_BASED),
        col(Session.course_id) != bindparam("course_id"),
    )
)


def _others(
    uow: UnitOfWork, first: _CourseReplan, patient: Patient, clinic: Clinic, now: datetime
) -> list[_CourseReplan]:
    """R38 is per patient: the patient's other courses replanned with this one, when a reminder rides across
    them (to merge or free it), or, with merging on, when their live reminders share a (channel, local date)
    with this course's, old or new; none (one indexed read) otherwise."""
    found = uow.fetch(_OTHERS_LIVE, {"patient_id": patient.id, "course_id": first.course.id})
    mine = {first.existing[key].id for key in first.live}
    # a rider whose carrier left (sent) left with it; even with merging turned off, what rides across courses
    # is undone across them
    carriers = {row.id for row in found if row.status == ReminderStatus.pending} | mine
    others = [row for row in found if row.status == ReminderStatus.pending or row.merged_into in carriers]
    rides_across = any(row.merged_into in mine for row in others) or any(
        first.existing[k].merged_into for k in first.live
    )
    if not rides_across and not (clinic.one_message_per_day and _share_a_day(first, others, clinic.zone)):
        return []  # with merging off, a shared day changes nothing in the other course
    # every course with a live reminder: a shared day may reach a third course through the second
    return [
        _planned(uow, uow.get(Course, course_id), now, patient, clinic)
        for course_id in sorted({r.course_id for r in others})
    ]


def _share_a_day(first: _CourseReplan, others: list[Any], zone: ZoneInfo) -> bool:
    """Whether another course's live reminder goes on a (channel, local date) of this course's, old or new."""
    days = {(p.channel, p.due_at.astimezone(zone).date()) for p in first.free}
    days |= {(first.existing[k].channel, first.existing[k].due_at.astimezone(zone).date()) for k in first.live}
    return any((row.channel, row.due_at.astimezone(zone).date()) in days for row in others)


def _replan(uow: UnitOfWork, first: _CourseReplan, patient: Patient, clinic: Clinic, now: datetime) -> None:
    """Store the plans of a course and of the patient's courses sharing a day with it (R38 across them)."""
    replans = [first, *_others(uow, first, patient, clinic, now)]
    merged = {p.idempotency_key: p for p in _same_day([p for r in replans for p in r.free], clinic)}
    settings: ReminderSettings | None = None  # read only when a stored reminder is dropped (a new course has none)
    wanted: list[dict[str, PlannedReminder]] = []
    for replan in replans:
        own = {p.idempotency_key: merged[p.idempotency_key] for p in replan.free}
        own |= {p.idempotency_key: p for p in replan.planned if p.idempotency_key in replan.sending}
        wanted.append(own)
        by_id = {s.id: s for s in replan.sessions}
        for key in replan.live:
            row = replan.existing[key]
            if key not in own:
                session = by_id[row.session_id]
                settings = settings or reminder_settings(clinic)
                reason = stale_reason(row.kind, row.offset_minutes, session.status, replan.course.status, settings)
                row.status, row.reason, row.merged_into = ReminderStatus.cancelled, reason or row.reason, None
    uow.flush()  # the cancelled rows leave the one-pending-per-slot index before new ones arrive
    ids: dict[str, uuid.UUID] = {}
    for replan, own in zip(replans, wanted, strict=True):
        ids |= {key: replan.existing[key].id if key in replan.existing else new_id() for key in own}
    new_plans: list[PlannedReminder] = []
    carriers: dict[str, uuid.UUID | None] = {}
    rows: dict[str, Any] = {}
    for replan, own in zip(replans, wanted, strict=True):
        for key, plan in own.items():
            if key in replan.bygone:
                continue
            row = replan.existing.get(key)
            if row is None:
                new_plans.append(plan)
                continue
            if row.status == ReminderStatus.cancelled or (
                key in replan.live and (row.status, row.reason) != (plan.status, plan.reason)
            ):
                row.status, row.reason = plan.status, plan.reason  # revived, consent or archiving changed, (un)merged
                row.attempts, row.next_attempt_at, row.last_error = 0, None, None
            if key not in replan.sending:
                carriers[key], rows[key] = (ids[plan.merged_into] if plan.merged_into else None), row
            if row.status in _FOLLOWS_THE_PATIENT:
                _address(row, plan, patient)
    sessions = {str(s.id): s for r in replans for s in r.sessions}
    _insert(uow, new_plans, ids, patient, sessions, now)
    for key, carrier in carriers.items():  # after the insert: a rider may ride with a new carrier
        if rows[key].merged_into != carrier:
            rows[key].merged_into = carrier


def _carriers_elsewhere(uow: UnitOfWork, existing: dict[str, Reminder]) -> dict[uuid.UUID, str]:
    """The status of each carrier in another of the patient's courses that a rider here rides with (R38);
    no read when none does."""
    ids = {row.id for row in existing.values()}
    away = {row.merged_into for row in existing.values() if row.merged_into and row.merged_into not in ids}
    if not away:
        return {}
    found = uow.execute(select(col(Reminder.id), col(Reminder.status)).where(col(Reminder.id).in_(sorted(away))))
    return {row.id: row.status for row in found}


def _live(existing: dict[str, Reminder], elsewhere: dict[uuid.UUID, str]) -> set[str]:
    """Keys whose message has not left: pending or skipped, or merged into one of those (R38), here or in
    another of the patient's courses (`elsewhere`: those carriers' statuses)."""
    statuses = {row.id: row.status for row in existing.values()} | elsewhere
    live = set()
    for key, row in existing.items():
        if row.status in _REPLANNABLE:
            live.add(key)
        elif row.status == ReminderStatus.merged:
            carrier = statuses.get(row.merged_into) if row.merged_into else None
            if carrier is None or carrier in _REPLANNABLE:
                live.add(key)
    return live


def _revivable(row: Reminder) -> bool:
    """A reminder cancelled earlier comes back under its old key when it is planned again (R19)."""
    return row.status == ReminderStatus.cancelled


def _same_day(plans: list[PlannedReminder], clinic: Clinic) -> list[PlannedReminder]:
    """R38, when the clinic wants it: one message per patient, channel and local date."""
    return merge_same_day(plans, clinic.zone) if clinic.one_message_per_day else plans


def _address(row: Reminder, plan: PlannedReminder, patient: Patient) -> None:
    """A kept reminder goes where, how and with the words the plan says now (the patient may have changed)."""
    values = {"channel": plan.channel, "to_address": _to(plan, patient), "subject": plan.subject, "body": plan.body}
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def sync_patient_reminders(uow: UnitOfWork, patient_id: uuid.UUID, now: datetime) -> None:
    """A patient changed (contact, channel, consent, name, archived, links revoked): replan all their courses, and
    their waitlist offers' messages still to go."""
    for course in uow.execute(select(Course).where(col(Course.patient_id) == patient_id)).scalars():
        sync_course_reminders(uow, course, now)
    replan_offer_messages(uow, uow.get(Patient, patient_id), now)


def replan_patients(uow: UnitOfWork, patient_ids: list[uuid.UUID], now: datetime) -> None:
    """Several patients' reminders replanned (their number opted out or in: R33), their courses locked
    in the writers' order."""
    courses = select(col(Course.id)).where(col(Course.patient_id).in_(patient_ids))
    for course in uow.lock_courses(list(uow.execute(courses).scalars())):
        sync_course_reminders(uow, course, now)


def replan_follow_ups(uow: UnitOfWork, now: datetime, *, days: DateRange | None = None) -> None:
    """The clinic's open days changed (a closure, its opening hours): replan every course with a follow-up
    call still to come on `days` or up to FOLLOW_UP_REACH_DAYS after them (a call that waited past a closure
    comes back when it is lifted); on any day when `days` is None (R16, R19)."""
    uow.flush()
    calls = (
        select(col(Session.course_id))
        .join(Reminder, col(Reminder.session_id) == col(Session.id))
        .where(col(Reminder.kind) == ReminderKind.follow_up, col(Reminder.status) == ReminderStatus.pending)
        .distinct()
    )
    if days is not None:
        last = days.end_date + timedelta(days=FOLLOW_UP_REACH_DAYS)
        start, end = local_day_bounds(days.start_date, last, get_clinic(uow).zone)
        calls = calls.where(col(Reminder.due_at) >= start, col(Reminder.due_at) < end)
    for course in uow.lock_courses(list(uow.execute(calls).scalars())):
        sync_course_reminders(uow, course, now)


def reminder_settings(clinic: Clinic) -> ReminderSettings:
    """The clinic's reminder settings as the core reads them."""
    return ReminderSettings(
        zone=clinic.zone,
        appointment_offsets_minutes=tuple(sorted(set(clinic.reminder_offsets_minutes), reverse=True)),
        send_time=time.fromisoformat(clinic.reminder_send_time),
        quiet_start=time.fromisoformat(clinic.quiet_hours["start"]),
        quiet_end=time.fromisoformat(clinic.quiet_hours["end"]),
        confirm_request_offset_minutes=clinic.confirm_request_offset_minutes,
        skip_when_confirmed_offsets_minutes=tuple(clinic.skip_when_confirmed_offsets_minutes),
    )


def _plan(
    uow: UnitOfWork, course: Course, sessions: list[Session], now: datetime, patient: Patient, clinic: Clinic
) -> list[PlannedReminder]:
    settings = reminder_settings(clinic)
    contact = patient_contact(uow, patient)
    rules = rules_from(course.rules)
    refs = [SessionRef(str(s.id), s.start_at) for s in sessions]
    # R16: the follow-up calls go on open days, the same ones the handout and the feeds show
    open_days = load_open_days(uow, clinic=clinic, follow_up_days=follow_up_rule_days(refs, rules, clinic.zone))
    links = message_links(uow, sessions, patient, now)  # R23: every message about a session carries its link
    clinic_phone = phone_for_people(clinic)
    return [
        reminder
        for s in sorted(sessions, key=lambda s: s.number)
        for reminder in plan_reminders(
            SessionInfo(str(s.id), str(course.id), s.number, s.start_at, s.status, links.get(str(s.id))),
            rules,
            contact,
            settings,
            clinic_name=clinic.name,
            now=now,
            open_days=open_days,
            clinic_phone=clinic_phone,
        )
    ]


def _insert(
    uow: UnitOfWork,
    plans: list[PlannedReminder],
    ids: dict[str, uuid.UUID],
    patient: Patient,
    sessions: dict[str, Session],
    now: datetime,
) -> None:
    if not plans:
        return
    # one Core executemany, no ORM objects: a booking plans dozens of reminders (so recorded here, S7);
    # carriers before their riders, which refer to them (R38)
    ordered = sorted(plans, key=lambda p: p.merged_into is not None)
    rows = [_row(p, ids, patient, sessions[p.session_id], now) for p in ordered]
    uow.insert(Reminder, rows, same={"patient_id": patient.id, "created_at": now})


def _to(plan: PlannedReminder, patient: Patient) -> str | None:
    """The address a reminder goes to on its channel (outbox and none have none)."""
    if plan.channel == "email":
        return patient.email
    if plan.channel == "sms":
        return patient.phone
    return None


def _row(
    plan: PlannedReminder,
    ids: dict[str, uuid.UUID],
    patient: Patient,
    session: Session,
    now: datetime,
) -> dict[str, Any]:
    start_at = session.start_at
    return dict(
        id=ids[plan.idempotency_key],
        kind=plan.kind,
        audience=plan.audience,
        channel=plan.channel,
        due_at=plan.due_at,
        # R20: an appointment or confirm message is stale once the appointment began; a dated one a day after
        expires_at=start_at if plan.kind in (APPOINTMENT, CONFIRM_REQUEST) else plan.due_at + timedelta(days=1),
        status=plan.status,
        attempts=0,
        idempotency_key=plan.idempotency_key,
        patient_id=patient.id,
        session_id=session.id,
        rule_code=plan.rule_code or "",
        offset_minutes=plan.offset_minutes or 0,
        reason=plan.reason,
        to_address=_to(plan, patient),
        subject=plan.subject,
        body=plan.body,
        created_at=now,
        merged_into=ids[plan.merged_into] if plan.merged_into else None,
        announces=None,
    )
