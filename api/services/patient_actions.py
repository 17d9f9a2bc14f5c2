"""What a patient does through their link (R26): confirm, cancel, move; each audited with the link as actor.

Each action runs in one writer's unit of work opened with the link as its actor
(`actors.patient_link`, by the route once the token named a working link): the session's
practitioner, patient, course and the session are locked in the writers' order (R11), the link
is checked again under the lock (a revocation committed meanwhile wins), then the change is made
with the staff's own use cases, so the rules, the reminders and the audit trail are the same. A refused
action raises :class:`PatientRefused` and writes nothing. The same action twice changes nothing
the second time. Notice periods bind the patient only: staff's routes never look at them.
"""

import uuid
from datetime import datetime

from api.services import lifecycle, offers
from api.services import reschedule as reschedule_service
from api.services.links import open_link
from api.services.patient_page import WANTS_TO_STOP, Opened, is_open, notice_left, opened, stop_requested
from api.services.self_service import still_offered
from api.services.staff_items import raise_patient_action
from api.store.errors import Conflict, LinkGone, LinkUnknown, PatientRefused
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork
from models import PatientLink, WaitlistOffer
from models.record import SessionReschedule
from scheduling.lifecycle import SessionStatus
from scheduling.links import OFFER
from scheduling.messages import moment_text
from scheduling.waitlist import OfferStatus

CANNOT_MAKE_IT = "cannot_make_it"
STOP_TREATMENT = "stop_treatment"
CANCEL_REASONS = (CANNOT_MAKE_IT, STOP_TREATMENT)


def link_id(*, uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> uuid.UUID:
    """The id of the working link a token names, the actor of what the patient does through it (R28)."""
    return open_link(uow, keys, token, now).id


def _locked(uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> Opened:
    """The link's session with its owners locked, and the link checked again under the lock."""
    found = opened(uow, keys, token, now)
    uow.lock_session(found.session.id, with_owners=True)
    uow.lock(PatientLink, found.link.id)  # read again: revoked meanwhile, it says so now
    found = opened(uow, keys, token, now)
    if uow.actor is None or found.link.id != uow.actor.id:
        raise LinkGone()  # only the link the unit acts for may act
    return found


def confirm(*, uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> str:
    """scheduled → confirmed (R10); already confirmed: nothing changes. The outcome the page announces."""
    found = _locked(uow, keys, token, now)
    if found.session.status == SessionStatus.confirmed:
        return "already_confirmed"
    if not is_open(found, now):
        raise PatientRefused("not_open")
    lifecycle.confirm(uow=uow, session_id=found.session.id, now=now)
    return "confirmed"


def cancel(*, uow: UnitOfWork, keys: LinkKeys, token: str, reason: str | None, now: datetime) -> str:
    """`cannot_make_it` cancels (with a replacement when the clinic says so); `stop_treatment` cancels nothing
    and asks the clinic to call (a staff item). Only while the notice period allows (R26)."""
    if reason not in CANCEL_REASONS:
        raise PatientRefused("choose_reason")
    found = _locked(uow, keys, token, now)
    session, clinic = found.session, found.clinic
    if reason == STOP_TREATMENT and stop_requested(uow, session):
        return "stop_requested"  # said once already: the clinic has it
    if session.status == SessionStatus.cancelled and reason == CANNOT_MAKE_IT:
        return "cancelled"  # the second time changes nothing
    if not is_open(found, now):
        raise PatientRefused("not_open")
    if not notice_left(found, now, clinic.cancel_notice_hours):
        raise PatientRefused("notice_passed")
    name, when = found.patient.given_name, moment_text(session.start_at.astimezone(clinic.zone))
    if reason == STOP_TREATMENT:
        text = f"Patient action: {name} wants to stop the treatment (session {session.number}, {when}): please call."
        raise_patient_action(uow, session, reason=WANTS_TO_STOP, text=text, now=now)
        return "stop_requested"
    done = lifecycle.cancel(
        uow=uow,
        session_id=session.id,
        reason="cancelled by the patient: cannot make it",
        replace=clinic.patient_cancel_replaces,
        now=now,
    )
    extra = ""
    if done.replacement is not None:
        extra = f"; replacement session {done.replacement.number} on {moment_text(done.replacement.start_local)}"
    text = f"Patient action: {name} cancelled session {session.number} ({when}) through their link{extra}."
    raise_patient_action(uow, session, reason="cancelled", text=text, now=now)
    return "cancelled"


def reschedule(*, uow: UnitOfWork, keys: LinkKeys, token: str, choice: str | None, now: datetime) -> str:
    """Move the session to an alternative the page showed, planned again now: applied only if the result is what
    the page showed (same start, same moved sessions at the same times), else `choice_taken` (R26, R27)."""
    if not choice:
        raise PatientRefused("choose_time")
    found = _locked(uow, keys, token, now)
    session, course, clinic = found.session, found.course, found.clinic
    if not is_open(found, now):
        raise PatientRefused("not_open")
    if not notice_left(found, now, clinic.reschedule_notice_hours):
        raise PatientRefused("notice_passed")
    alternative = still_offered(uow, session, course, clinic, now, choice)
    if alternative is None:
        raise PatientRefused("choice_taken")
    before = moment_text(session.start_at.astimezone(clinic.zone))
    request = SessionReschedule(start=alternative.session.start_at, reflow=True, reason="moved by the patient")
    done = reschedule_service.reschedule(uow=uow, session_id=session.id, request=request, now=now)
    if [(m.number, m.start) for m in done.moved] != [(m.number, m.start_at) for m in alternative.moved]:
        raise PatientRefused("choice_taken")  # never applied otherwise: the transaction rolls back
    moved = "".join(f"; session {m.number} moves to {moment_text(m.start_local)}" for m in done.moved)
    text = (
        f"Patient action: {found.patient.given_name} moved session {session.number} from {before} "
        f"to {moment_text(done.session.start_local)} through their link{moved}."
    )
    raise_patient_action(uow, session, reason="rescheduled", text=text, now=now)
    return "rescheduled"


def accept(*, uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> str:
    """R44: the patient takes the offer their link names, by the staff's own accept (the practitioner's lock, the
    dry run repeated and equal, applied as R8); accepted already: nothing changes. Refused, with nothing
    written: `offer_taken` (someone was first), `offer_invalid` (the move is no longer what was offered),
    `offer_ended` (withdrawn or expired)."""
    link = open_link(uow, keys, token, now)
    if link.purpose != OFFER or link.offer_id is None:
        raise LinkUnknown()  # a session's link takes no offer
    if uow.actor is None or link.id != uow.actor.id:
        raise LinkGone()  # only the link the unit acts for may act
    try:
        offers.accept(uow=uow, offer_id=link.offer_id, now=now)
    except offers.OfferTaken:
        if uow.lock(WaitlistOffer, link.offer_id).status is OfferStatus.accepted:
            return "accepted"  # the same accept twice (a refresh, a second tap): the first one stands
        raise PatientRefused("offer_taken") from None
    except offers.OfferInvalid:
        raise PatientRefused("offer_invalid") from None
    except Conflict:
        raise PatientRefused("offer_ended") from None
    uow.lock(PatientLink, link.id)  # read again: revoked meanwhile, the move is not made
    open_link(uow, keys, token, now)
    return "accepted"
