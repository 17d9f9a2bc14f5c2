"""Prolo's rows as FHIR R4 resources, plain dicts (S10).

Only elements that FHIR R4 (4.0.1) and R4B (4.3.0) define alike are used, so the same
JSON is valid in both; the tests validate it with `fhir.resources`' R4B models (its
releases for pydantic 2 carry R5, R4B and STU3, no 4.0.1). References name the other
resources of the Bundle by their `urn:uuid:` fullUrl.

Codes come from FHIR's own value sets only; Prolo's own vocabularies (aftercare rules,
reminder kinds, channels) travel as `text`, never under an invented code system.
"""

from datetime import UTC, date, datetime
from typing import Any

from models import Clinic, Course, Patient, Practitioner, Reminder, Session
from scheduling.aftercare import AVOID_MEDICATION, EXERCISE, FOLLOW_UP, Window
from scheduling.lifecycle import CourseStatus, SessionStatus
from scheduling.messages import aftercare_title
from scheduling.reminders import ReminderStatus

Resource = dict[str, Any]

# Session status → Appointment.status (R10 → FHIR's appointmentstatus); every state has one (a test checks).
APPOINTMENT_STATUS: dict[SessionStatus, str] = {
    SessionStatus.scheduled: "booked",
    SessionStatus.confirmed: "booked",
    SessionStatus.checked_in: "arrived",
    SessionStatus.completed: "fulfilled",
    SessionStatus.cancelled: "cancelled",
    SessionStatus.no_show: "noshow",
}
# Course status → CarePlan.status: a planned course is a plan in force.
CAREPLAN_STATUS: dict[CourseStatus, str] = {
    CourseStatus.planned: "active",
    CourseStatus.active: "active",
    CourseStatus.on_hold: "on-hold",
    CourseStatus.completed: "completed",
    CourseStatus.cancelled: "revoked",
}
# Reminder status → CommunicationRequest.status: waiting or in the outbox is active; delivered is completed.
REQUEST_STATUS: dict[ReminderStatus, str] = {
    ReminderStatus.pending: "active",
    ReminderStatus.sending: "active",
    ReminderStatus.ready: "active",
    ReminderStatus.sent: "completed",
    ReminderStatus.acknowledged: "completed",
    ReminderStatus.failed: "revoked",
    ReminderStatus.expired: "revoked",
    ReminderStatus.cancelled: "revoked",
    ReminderStatus.skipped: "revoked",
    ReminderStatus.merged: "active",  # riding with another message (R38): as its carrier, when the bundle holds it
}
# R12 kind → CarePlan.activity.detail.kind, where FHIR has one for it.
ACTIVITY_KIND: dict[str, str] = {
    AVOID_MEDICATION: "MedicationRequest",
    EXERCISE: "Task",
    FOLLOW_UP: "CommunicationRequest",
}
_MEDICAL_RECORD_NUMBER = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
    "text": "Medical record number",
}


def ref(full_url: str, display: str | None = None) -> dict[str, str]:
    return {"reference": full_url} | ({"display": display} if display else {})


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def patient(row: Patient) -> Resource:
    telecom = [{"system": "phone", "value": row.phone}] if row.phone else []
    telecom += [{"system": "email", "value": row.email}] if row.email else []
    return {
        "resourceType": "Patient",
        "id": str(row.id),
        "identifier": [{"type": _MEDICAL_RECORD_NUMBER, "value": row.mrn}],
        "active": not row.archived,
        "name": [{"use": "official", "family": row.family_name, "given": [row.given_name]}],
        **({"telecom": telecom} if telecom else {}),
        "birthDate": row.date_of_birth.isoformat(),
    }


def practitioner(row: Practitioner) -> Resource:
    return {"resourceType": "Practitioner", "id": str(row.id), "name": [{"text": row.name}]}


def organization(row: Clinic, resource_id: str) -> Resource:
    phone = {"telecom": [{"system": "phone", "value": row.phone}]} if row.phone else {}
    return {"resourceType": "Organization", "id": resource_id, "name": row.name, **phone}


def care_plan(
    course: Course, urls: dict[str, str], activities: list[Resource], period: tuple[datetime, datetime] | None
) -> Resource:
    """The course; `urls` holds the fullUrls of "patient" and "practitioner"."""
    return {
        "resourceType": "CarePlan",
        "id": str(course.id),
        "status": CAREPLAN_STATUS[course.status],
        "intent": "plan",
        "title": "Prolotherapy course",
        "description": f"{course.session_count} prolotherapy sessions ({course.injectate}) about every "
        f"{course.interval_days} days: {course.condition}",
        "subject": ref(urls["patient"]),
        **({"period": {"start": instant(period[0]), "end": instant(period[1])}} if period else {}),
        "created": instant(course.created_at),
        "author": ref(urls["practitioner"]),
        "activity": activities,
    }


def session_activity(appointment_url: str, number: int) -> Resource:
    """A session of the plan, as a reference to its Appointment."""
    return {"reference": ref(appointment_url, f"Session {number}")}


def aftercare_activity(window: Window, status: str, performer_url: str, description: str) -> Resource:
    """One aftercare rule after one session; NSAID avoidance is an activity not to perform (S10)."""
    detail: Resource = {
        "code": {"text": aftercare_title(window.kind, window.medication_class)},
        "status": status,
        "doNotPerform": window.kind == AVOID_MEDICATION,
        "scheduledPeriod": {"start": window.from_date.isoformat(), "end": window.until_date.isoformat()},
        "performer": [ref(performer_url)],
        "description": description,
    }
    if window.kind in ACTIVITY_KIND:
        detail["kind"] = ACTIVITY_KIND[window.kind]
    return {"detail": detail}


def activity_status(window: Window, took_place_or_will: bool, today: date) -> str:
    """Where the activity stands on `today` (local): a session without injection calls off its aftercare (R14)."""
    if not took_place_or_will:
        return "cancelled"
    if today < window.from_date:
        return "scheduled"
    return "in-progress" if today <= window.until_date else "completed"


def appointment(
    row: Session,
    course: Course,
    urls: dict[str, str],
    names: dict[str, str],
    advice: str,
    requested: tuple[datetime, datetime] | None = None,
) -> Resource:
    """A session; `urls` holds the fullUrls of "patient", "practitioner" and "care_plan"; `requested`: the
    earlier span the patient waits for (a waitlist entry, R39), as `requestedPeriod`."""
    status = APPOINTMENT_STATUS[row.status]
    reason = row.change_reason if status in ("cancelled", "noshow") and row.change_reason else None
    return {
        "resourceType": "Appointment",
        "id": str(row.id),
        "status": status,
        **({"cancelationReason": {"text": reason}} if reason else {}),
        "description": f"Prolotherapy session {row.number} of {course.session_count}",
        "supportingInformation": [ref(urls["care_plan"])],
        "start": instant(row.start_at),
        "end": instant(row.end_at),
        "minutesDuration": round((row.end_at - row.start_at).total_seconds() / 60),
        "created": instant(course.created_at),
        **({"patientInstruction": advice} if advice else {}),
        **({"requestedPeriod": [{"start": instant(requested[0]), "end": instant(requested[1])}]} if requested else {}),
        "participant": [
            {
                "actor": ref(urls["patient"], names["patient"]),
                "required": "required",
                "status": "needs-action" if row.status == "scheduled" else "accepted",
            },
            {"actor": ref(urls["practitioner"], names["practitioner"]), "required": "required", "status": "accepted"},
        ],
    }


def communication_request(row: Reminder, urls: dict[str, str], carrier: Reminder | None = None) -> Resource:
    """A reminder; `urls` holds "patient", "clinic", "care_plan" and the session's "appointment";
    `carrier`: the message a merged one rides with (R38), whose fate it shares."""
    fate = carrier if row.status == "merged" and carrier is not None else row
    status = REQUEST_STATUS[fate.status]
    why = fate.reason or fate.last_error or fate.status
    to_patient = row.audience == "patient"
    return {
        "resourceType": "CommunicationRequest",
        "id": str(row.id),
        "identifier": [{"value": row.idempotency_key}],
        "basedOn": [ref(urls["care_plan"])],
        "status": status,
        **({"statusReason": {"text": why}} if status == "revoked" else {}),
        "category": [{"text": row.kind.replace("_", " ")}],
        "priority": "routine",
        "medium": [{"text": row.channel}],
        "subject": ref(urls["patient"]),
        "about": [ref(urls["appointment"])],
        "payload": [{"contentString": row.body}],
        "occurrenceDateTime": instant(row.due_at),
        "authoredOn": instant(row.created_at),
        "recipient": [ref(urls["patient"] if to_patient else urls["clinic"])],
        "sender": ref(urls["clinic"]),
    }
