"""Tables and API schemas.

Field validation only: the rules live in `scheduling/`, the use cases in `api/services/`.
"""

from models.api_key import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyRead, Role
from models.audit import Actor, AuditEvent, AuditEventRead, AuditFeed
from models.base import Page, Problem, Warning
from models.calendar_token import CalendarFeedUrl, CalendarToken
from models.clinic import Clinic, ClinicRead, ClinicWrite, QuietHours
from models.closure import Closure, ClosureCreate, ClosureRead, HolidayImport
from models.course import (
    Course,
    CourseCancel,
    CourseCreate,
    CourseHold,
    CourseRead,
)
from models.hours import WeekHours
from models.idempotency import IdempotencyRecord
from models.inbound import InboundMessage, InboundMessageRead, InboundSms, SmsOptOut, SmsOptOutCreate, SmsOptOutRead
from models.patient import Patient, PatientCreate, PatientRead, PatientUpdate, ReminderChannel
from models.patient_link import LinkSecret, PatientLink, PatientLinkRead, SessionLink
from models.practitioner import (
    FreeSlot,
    Practitioner,
    PractitionerCreate,
    PractitionerRead,
    PractitionerUpdate,
    TimeOff,
    TimeOffCreate,
    TimeOffRead,
)
from models.protocol import (
    AftercareRule,
    Protocol,
    ProtocolCreate,
    ProtocolRead,
    ProtocolUpdate,
    RuleKind,
)
from models.reminder import Reminder, ReminderRead
from models.session import Session, SessionRead
from models.waitlist import (
    OpeningCreate,
    OpeningRead,
    OpeningWithdraw,
    WaitlistClose,
    WaitlistCreate,
    WaitlistEntry,
    WaitlistEntryRead,
    WaitlistOffer,
    WaitlistOpening,
    WaitlistUpdate,
)

__all__ = [
    "Actor",
    "AftercareRule",
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "AuditEvent",
    "AuditEventRead",
    "AuditFeed",
    "CalendarFeedUrl",
    "CalendarToken",
    "Clinic",
    "ClinicRead",
    "ClinicWrite",
    "Closure",
    "ClosureCreate",
    "ClosureRead",
    "Course",
    "CourseCancel",
    "CourseCreate",
    "CourseHold",
    "CourseRead",
    "FreeSlot",
    "HolidayImport",
    "IdempotencyRecord",
    "InboundMessage",
    "InboundMessageRead",
    "InboundSms",
    "LinkSecret",
    "OpeningCreate",
    "OpeningRead",
    "OpeningWithdraw",
    "Page",
    "Patient",
    "PatientCreate",
    "PatientLink",
    "PatientLinkRead",
    "PatientRead",
    "PatientUpdate",
    "Practitioner",
    "PractitionerCreate",
    "PractitionerRead",
    "PractitionerUpdate",
    "Problem",
    "Protocol",
    "ProtocolCreate",
    "ProtocolRead",
    "ProtocolUpdate",
    "QuietHours",
    "Reminder",
    "ReminderChannel",
    "ReminderRead",
    "Role",
    "RuleKind",
    "Session",
    "SessionLink",
    "SessionRead",
    "SmsOptOut",
    "SmsOptOutCreate",
    "SmsOptOutRead",
    "TimeOff",
    "TimeOffCreate",
    "TimeOffRead",
    "WaitlistClose",
    "WaitlistCreate",
    "WaitlistEntry",
    "WaitlistEntryRead",
    "WaitlistOffer",
    "WaitlistOpening",
    "WaitlistUpdate",
    "Warning",
    "WeekHours",
]
