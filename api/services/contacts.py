"""How Prolo reaches a patient, as their row and their number's opt-out say now (R18, R22, R33).

Every message planner reads the contact here: the reminders of a course, the change notice, and the
waitlist's "reachable" (R41), so an opted-out number is skipped by all of them alike.
"""

from api.store.unit_of_work import UnitOfWork
from models import Patient, SmsOptOut
from scheduling import messages
from scheduling.reminders import PatientContact, ReminderChannel
from scheduling.replies import POSSIBLE_OPT_OUT, SMS_OPTED_OUT


def sms_opt_out_reason(uow: UnitOfWork, number: str | None) -> str | None:
    """R33: why texts to `number` are skipped (`sms_opted_out`, or `possible_opt_out` until staff look), or None."""
    opt_out = uow.find(SmsOptOut, number) if number else None
    if opt_out is None or opt_out.cleared_at is not None:
        return None
    return POSSIBLE_OPT_OUT if opt_out.source == POSSIBLE_OPT_OUT else SMS_OPTED_OUT


def patient_contact(uow: UnitOfWork, patient: Patient) -> PatientContact:
    """The patient's contact for a message: channel, consent, addresses, archived, and their number's opt-out
    (read only for a patient written to by text: no other message heeds it, scheduling/reminders.py)."""
    texted = patient.reminder_channel == ReminderChannel.sms
    return PatientContact(
        first_name=messages.one_line(patient.given_name),
        channel=patient.reminder_channel,
        consent=patient.reminder_consent,
        email=patient.email,
        phone=patient.phone,
        archived=patient.archived,
        sms_opt_out=sms_opt_out_reason(uow, patient.phone) if texted else None,
    )
