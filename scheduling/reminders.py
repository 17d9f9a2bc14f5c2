"""Reminder plans: the messages one session sends, to whom and when (R16–R19).

When (R16). ``appointment``: each offset before the start in real hours (UTC
arithmetic: 48 h before Monday 09:00 after the spring change is Saturday 08:00).
At the send time on a local date: ``aftercare_start`` on an ``avoid_medication``
window's first day, ``aftercare_end`` the day after its last, ``exercise`` once on
its window's first day, ``follow_up`` (clinic staff, outbox) on its window's first day,
which is the clinic's first open day from its rule's day on (``open_days``: staff make
the call; :mod:`scheduling.open_days`);
``expect_symptoms`` sends nothing. A wall time names an instant by :func:`local_instant`.
Appointment reminders come for active sessions; the others for active or completed
ones, whose windows stand (R14). Cancelled and no-show sessions get nothing.

Quiet hours (R17): ``[quiet_start, quiet_end)`` local, wrapping midnight when start >
end, none when equal; patient reminders only. An appointment reminder inside moves
to the end of that quiet period if still ≥ 60 min before the start, else to
``quiet_start − 1 h`` on the evening the period began (20:00 the evening before); one
pushed to or before a longer offset's reminder is dropped (the patient has that
one). A date-based reminder keeps its date: ``quiet_end`` if on that date, else
``quiet_start − 1 h``.

R18: a reminder whose final time is not after ``now`` is not made. An archived
patient, a patient without consent, with channel ``none`` or without the channel's
address gets it ``skipped`` with the reason; the clinic's follow-up is never skipped
(the injection happened: staff still call). ``log`` is a
dispatch-time fallback, never planned.

Keys (R19, R21). Same inputs, same list; each ``identity`` (session, kind, rule,
offset) at most once. ``idempotency_key`` hashes the identity, ``due_at`` and what
is announced (the start instant; the window's dates): an unchanged session keeps
its keys, a consent or channel change keeps them (same message, not a second one),
and a moved session gets new ones, as does a follow-up call moved to another open
day (a closure added or lifted), so receivers deduplicating by key never drop the
new time's message as a repeat. A sent reminder is due in the past and new ones in
the future (R18), so no new key can equal a sent one.

R22: nothing here receives a condition or the rules' free text; texts come from
``messages``' templates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from scheduling import messages
from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, FOLLOW_UP, WINDOW_STATUSES, Rule, SessionRef, windows_for
from scheduling.lifecycle import ACTIVE, SessionStatus
from scheduling.open_days import OpenDays
from scheduling.spans import require_aware


class ReminderKind(StrEnum):
    """R16: what a reminder is about; the order is also the plan's tie order."""

    appointment = "appointment"
    confirm_request = "confirm_request"  # R35: "please confirm your session"
    aftercare_start = "aftercare_start"
    aftercare_end = "aftercare_end"
    exercise = EXERCISE
    follow_up = FOLLOW_UP
    patient_action = "patient_action"  # a staff item: the patient changed something through their link (R26)
    change_notice = "change_notice"  # R37: planned per patient by scheduling.hygiene, not per session
    sms_reply = "sms_reply"  # R30: an answer to a patient's text, sent by the dispatcher
    reply_review = "reply_review"  # R34: a patient's text a person must look at (a staff item, outbox)
    waitlist_offer = "waitlist_offer"  # R43: an earlier time offered to a waiting patient, with its link
    waitlist_opening = "waitlist_opening"  # R43: a staff item listing a freed time's ranked candidates


class ReminderStatus(StrEnum):
    """A reminder's life: planned here as ``pending`` or ``skipped`` (R18), then delivered by the shell (R20–R22).

    pending → sending → sent | pending (retry) | failed; pending | sending → expired;
    outbox: pending → ready → acknowledged; any pending one → cancelled when replanned (R19);
    a date-based one riding with another message that day → merged (R38: its carrier carries its text).
    """

    pending = "pending"
    sending = "sending"
    sent = "sent"
    ready = "ready"
    acknowledged = "acknowledged"
    failed = "failed"
    expired = "expired"
    cancelled = "cancelled"
    skipped = "skipped"
    merged = "merged"


APPOINTMENT, AFTERCARE_START, AFTERCARE_END = (
    ReminderKind.appointment,
    ReminderKind.aftercare_start,
    ReminderKind.aftercare_end,
)
CONFIRM_REQUEST, CHANGE_NOTICE = ReminderKind.confirm_request, ReminderKind.change_notice
# R35/R36: SPEC's defaults for the clinic's settings
DEFAULT_CONFIRM_REQUEST_OFFSET_MINUTES = 4320
DEFAULT_SKIP_WHEN_CONFIRMED_OFFSETS_MINUTES = (2880,)
REMINDER_KINDS = tuple(ReminderKind)
PATIENT, CLINIC = "patient", "clinic"


class ReminderChannel(StrEnum):
    """How a patient's reminders reach them (`none`: they get none)."""

    email = "email"
    sms = "sms"
    outbox = "outbox"
    none = "none"


CHANNELS = tuple(ReminderChannel)
PENDING, SKIPPED = ReminderStatus.pending, ReminderStatus.skipped
NO_CONSENT, CHANNEL_NONE, NO_EMAIL, NO_PHONE = "no_consent", "channel_none", "no_email", "no_phone"
PATIENT_ARCHIVED = "patient_archived"

_MIN_LEAD = timedelta(minutes=60)  # R17: 08:00 only if still ≥ 60 min before the appointment
_EVENING_LEAD = timedelta(hours=1)  # R17: 20:00 = the default quiet_start 21:00 − 1 h
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ReminderSettings:
    """The clinic's reminder settings (API ``GET /v1/clinic``); times are naive local wall times."""

    zone: ZoneInfo
    appointment_offsets_minutes: tuple[int, ...] = (2880, 120)
    send_time: time = time(9)
    quiet_start: time = time(21)
    quiet_end: time = time(8)
    # R35: None plans no confirm requests; a confirmed session drops its appointment reminders at these offsets
    confirm_request_offset_minutes: int | None = DEFAULT_CONFIRM_REQUEST_OFFSET_MINUTES
    skip_when_confirmed_offsets_minutes: tuple[int, ...] = DEFAULT_SKIP_WHEN_CONFIRMED_OFFSETS_MINUTES

    def __post_init__(self) -> None:
        if self.confirm_request_offset_minutes is not None and self.confirm_request_offset_minutes <= 0:
            raise ValueError("the confirm request's offset must be positive")
        offsets = self.appointment_offsets_minutes
        if any(m <= 0 for m in offsets) or len(set(offsets)) != len(offsets):
            raise ValueError(f"appointment offsets must be positive and distinct, got {offsets!r}")
        if any(t.tzinfo is not None for t in (self.send_time, self.quiet_start, self.quiet_end)):
            raise ValueError("send and quiet times are naive local wall times (R1)")
        if _quiet_length(self.quiet_start, self.quiet_end) > timedelta(hours=23):
            # The fallback an hour before quiet_start must itself be outside quiet hours.
            raise ValueError("quiet hours may last at most 23 hours")


@dataclass(frozen=True)
class PatientContact:
    """Who gets patient reminders and how. Deliberately no condition or clinical field (R22)."""

    first_name: str
    channel: str  # one of CHANNELS
    consent: bool
    email: str | None = None
    phone: str | None = None
    archived: bool = False  # archived patients get no patient messages (R18)
    # R33: the phone asked for no more texts; the opt-out's reason (`sms_opted_out`, `possible_opt_out`)
    sms_opt_out: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown reminder channel {self.channel!r}")


@dataclass(frozen=True)
class SessionInfo:
    """The session to plan for."""

    session_id: str
    course_id: str
    number: int
    start_at: datetime  # aware
    status: str  # a lifecycle.Status value
    link: str | None = None  # R23: the session's patient link, carried by its appointment reminders

    def __post_init__(self) -> None:
        require_aware(self.start_at, "start_at")
        SessionStatus(self.status)  # ValueError for an unknown state


@dataclass(frozen=True)
class PlannedReminder:
    """One message to one audience at one instant (API ``Reminder``, before it is stored)."""

    kind: str  # one of REMINDER_KINDS
    audience: str  # PATIENT or CLINIC
    channel: str  # the patient's channel; "outbox" for the clinic
    due_at: datetime  # UTC
    session_id: str
    rule_code: str | None  # None for appointment reminders
    offset_minutes: int | None  # appointment reminders only
    idempotency_key: str  # 32 hex characters; see the module docstring
    status: str  # PENDING or SKIPPED
    reason: str | None  # why SKIPPED
    body: str
    subject: str | None  # email only
    rider_text: str | None = None  # R38: the words it adds to a carrier's message when it rides with one
    merged_into: str | None = None  # R38: the carrier's idempotency key when status is MERGED

    @property
    def identity(self) -> tuple[str, str, str | None, int | None]:
        """R19: (session, kind, rule, offset): at most one pending reminder each."""
        return (self.session_id, self.kind, self.rule_code, self.offset_minutes)


def plan_reminders(
    session: SessionInfo,
    rules: Sequence[Rule],
    contact: PatientContact,
    settings: ReminderSettings,
    *,
    clinic_name: str,
    now: datetime,
    open_days: OpenDays | None,
    medication_class_names: Mapping[str, str] | None = None,
    clinic_phone: str | None = None,
) -> list[PlannedReminder]:
    """R16–R19, R35: every reminder still to come for ``session``, by due time (then kind, rule, offset).

    ``open_days`` must know the closures of :func:`~scheduling.open_days.follow_up_reach` of the
    session's follow-up days (None: every day is open). ``session.link``, when Prolo has one, is
    carried by the appointment reminders and the confirm request (R23).
    """
    require_aware(now, "now")
    # names stored before S2 refused line breaks must not break an email header (R22)
    contact = replace(contact, first_name=messages.one_line(contact.first_name))
    clinic_name = messages.one_line(clinic_name)
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise ValueError("rule codes must be unique: R19 keys reminders by them")
    status = SessionStatus(session.status)
    drafts: list[_Draft] = []
    if status in ACTIVE:
        drafts += _appointment_drafts(session, contact, settings, clinic_name)
    if status is SessionStatus.scheduled and settings.confirm_request_offset_minutes is not None:
        drafts += _confirm_drafts(session, contact, settings, clinic_name, clinic_phone)
    if status in WINDOW_STATUSES:
        drafts += _window_drafts(session, rules, contact, settings, clinic_name, medication_class_names, open_days)
    reason = _skip_reason(contact)
    planned = [
        PlannedReminder(
            kind=d.kind,
            audience=CLINIC if d.kind == FOLLOW_UP else PATIENT,
            channel="outbox" if d.kind == FOLLOW_UP else contact.channel,
            due_at=d.due_at,
            session_id=session.session_id,
            rule_code=d.rule_code,
            offset_minutes=d.offset_minutes,
            idempotency_key=reminder_key(session.session_id, d.kind, d.rule_code, d.offset_minutes, d.due_at, d.about),
            # R18: the clinic's follow-up never waits on the patient's consent or address.
            status=PENDING if d.kind == FOLLOW_UP or reason is None else SKIPPED,
            reason=None if d.kind == FOLLOW_UP else reason,
            body=d.text.body,
            subject=d.text.subject,
            rider_text=d.text.rider,
        )
        for d in drafts
        if d.due_at > now  # R18: a past reminder is not made at all
    ]
    planned.sort(key=lambda r: (r.due_at, REMINDER_KINDS.index(r.kind), r.rule_code or "", -(r.offset_minutes or 0)))
    return planned


@dataclass(frozen=True)
class _Draft:
    """A reminder before R18 and the key: what, when (UTC), and what it announces."""

    kind: str
    due_at: datetime
    about: str  # the announced moment, for the key: a start instant or a window's dates
    text: messages.Message
    rule_code: str | None = None
    offset_minutes: int | None = None


def _appointment_drafts(
    session: SessionInfo, contact: PatientContact, settings: ReminderSettings, clinic_name: str
) -> list[_Draft]:
    """R16/R17: one per offset, in real hours before the start, out of quiet hours."""
    # In UTC: an aware datetime in a ZoneInfo adds wall-clock time, not real hours.
    start_at = session.start_at.astimezone(UTC)
    local_start = start_at.astimezone(settings.zone)
    text = messages.appointment(
        contact.first_name, clinic_name, local_start, email=contact.channel == "email", link=session.link
    )
    drafts: list[_Draft] = []
    # R35: a confirmed session has answered; the reminder the confirm request stood in for is not needed
    skipped = settings.skip_when_confirmed_offsets_minutes if session.status == SessionStatus.confirmed else ()
    for offset in sorted(settings.appointment_offsets_minutes, reverse=True):
        if offset in skipped:
            continue
        due_at = _appointment_due(start_at - timedelta(minutes=offset), start_at, settings)
        if drafts and due_at <= drafts[-1].due_at:
            continue  # quiet hours pushed it onto a longer offset's reminder: the patient has that one
        drafts.append(_Draft(APPOINTMENT, due_at, start_at.isoformat(), text, offset_minutes=offset))
    return drafts


def _confirm_drafts(
    session: SessionInfo,
    contact: PatientContact,
    settings: ReminderSettings,
    clinic_name: str,
    clinic_phone: str | None,
) -> list[_Draft]:
    """R35: one request to confirm, the offset before the start in real hours, out of quiet hours (R17)."""
    assert settings.confirm_request_offset_minutes is not None
    start_at = session.start_at.astimezone(UTC)
    offset = settings.confirm_request_offset_minutes
    due_at = _appointment_due(start_at - timedelta(minutes=offset), start_at, settings)
    local_start = start_at.astimezone(settings.zone)
    text = messages.confirm_request(
        contact.first_name, clinic_name, local_start, channel=contact.channel, phone=clinic_phone, link=session.link
    )
    return [_Draft(CONFIRM_REQUEST, due_at, start_at.isoformat(), text, offset_minutes=offset)]


def _window_drafts(
    session: SessionInfo,
    rules: Sequence[Rule],
    contact: PatientContact,
    settings: ReminderSettings,
    clinic_name: str,
    class_names: Mapping[str, str] | None,
    open_days: OpenDays | None,
) -> list[_Draft]:
    """R16: aftercare start and end, exercise and follow-up, each at the send time on its date."""
    name, email = contact.first_name, contact.channel == "email"
    drafts: list[_Draft] = []
    ref = SessionRef(session.session_id, session.start_at)
    for w in windows_for([ref], rules, settings.zone, open_days=open_days):
        about, code = f"{w.from_date.isoformat()}/{w.until_date.isoformat()}", w.rule_code
        if w.kind == AVOID_MEDICATION:
            drug = messages.class_name(w.medication_class or "", class_names)
            resume = w.until_date + _DAY
            start_text = messages.aftercare_start(name, clinic_name, drug, w.from_date, w.until_date, email=email)
            end_text = messages.aftercare_end(name, clinic_name, drug, resume, email=email)
            drafts.append(_Draft(AFTERCARE_START, _patient_day_due(w.from_date, settings), about, start_text, code))
            drafts.append(_Draft(AFTERCARE_END, _patient_day_due(resume, settings), about, end_text, code))
        elif w.kind == EXERCISE:
            text = messages.exercise(name, clinic_name, w.from_date, email=email)
            drafts.append(_Draft(EXERCISE, _patient_day_due(w.from_date, settings), about, text, code))
        elif w.kind == FOLLOW_UP:
            # Staff work from the outbox, not the patient's phone: no quiet hours (R17 is for patients). The
            # window starts on an open day, so the call moved off a closed day is due then, under a new key.
            due_at = local_instant(w.from_date, settings.send_time, settings.zone)
            drafts.append(_Draft(FOLLOW_UP, due_at, about, messages.follow_up(name, session.number), code))
    return drafts


def reminder_key(
    session_id: str, kind: str, rule_code: str | None, offset_minutes: int | None, due_at: datetime, about: str
) -> str:
    """R19/R21: the stable idempotency key: identity, due instant and what is announced."""
    offset = "" if offset_minutes is None else str(offset_minutes)
    parts = ("prolo.reminder.v1", session_id, kind, rule_code or "", offset, due_at.astimezone(UTC).isoformat(), about)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time on a local date (R1, R16).

    Ambiguous (fall-back fold): the first occurrence (fold=0). Skipped (spring-forward
    gap): the first instant after the gap, i.e. the moment the clocks jump.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap fold=0 reads the wall time with the offset before the jump (an instant
    # after it) and fold=1 with the offset after (an instant before it): bisect the
    # whole seconds between for the first one whose wall time is past ``naive``.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(microsecond=0)
    low, high = 0, int((first - lo).total_seconds()) + 1
    while high - low > 1:
        mid = (low + high) // 2
        if (lo + timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) > naive:
            high = mid
        else:
            low = mid
    return lo + timedelta(seconds=high)


def in_quiet_hours(at: datetime, settings: ReminderSettings) -> bool:
    """R17: is ``at`` inside the clinic's quiet hours, read on the local wall clock?"""
    return _quiet_began(at.astimezone(settings.zone), settings) is not None


def _quiet_length(start: time, end: time) -> timedelta:
    base = date(2000, 1, 1)
    return (datetime.combine(base, end) - datetime.combine(base, start)) % _DAY


def _quiet_began(local: datetime, settings: ReminderSettings) -> date | None:
    """The local date on which the quiet period holding ``local`` began; None outside quiet hours."""
    t, start, end = local.time(), settings.quiet_start, settings.quiet_end
    if start < end:
        return local.date() if start <= t < end else None
    if start > end and t >= start:
        return local.date()
    if start > end and t < end:
        return local.date() - _DAY
    return None


def _quiet_exits(began: date, settings: ReminderSettings) -> tuple[datetime, datetime]:
    """The end of the quiet period that began on ``began``, and an hour before its start (R17)."""
    wraps = settings.quiet_start > settings.quiet_end
    end_at = local_instant(began + _DAY if wraps else began, settings.quiet_end, settings.zone)
    evening = datetime.combine(began, settings.quiet_start) - _EVENING_LEAD
    return end_at, local_instant(evening.date(), evening.time(), settings.zone)


def _appointment_due(due_at: datetime, start_at: datetime, settings: ReminderSettings) -> datetime:
    """R17: 08:00 if still ≥ 60 min before the appointment, else 20:00 the evening before (UTC in and out)."""
    began = _quiet_began(due_at.astimezone(settings.zone), settings)
    if began is None:
        return due_at
    end_at, evening_at = _quiet_exits(began, settings)
    return end_at if end_at <= start_at - _MIN_LEAD else evening_at


def _patient_day_due(day: date, settings: ReminderSettings) -> datetime:
    """R16/R17: the send time on ``day``; in quiet hours, the nearest way out on that same date."""
    due_at = local_instant(day, settings.send_time, settings.zone)
    began = _quiet_began(due_at.astimezone(settings.zone), settings)
    if began is None:
        return due_at
    end_at, evening_at = _quiet_exits(began, settings)
    return end_at if end_at.astimezone(settings.zone).date() == day else evening_at


def skip_reason(contact: PatientContact) -> str | None:
    """R18: why a patient message cannot go to ``contact``; None if it can."""
    return _skip_reason(contact)


def _skip_reason(contact: PatientContact) -> str | None:
    """R18: why a patient reminder cannot go, checked in this order; None if it can."""
    if contact.archived:
        return PATIENT_ARCHIVED
    if not contact.consent:
        return NO_CONSENT
    if contact.channel == "none":
        return CHANNEL_NONE
    if contact.channel == "email" and not (contact.email or "").strip():
        return NO_EMAIL
    if contact.channel == "sms" and not (contact.phone or "").strip():
        return NO_PHONE
    if contact.channel == "sms" and contact.sms_opt_out:
        return contact.sms_opt_out  # R33: the number asked for no more texts
    return None
