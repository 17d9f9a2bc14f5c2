"""The page behind an offer's link (R44): the new time, every session that would move, the new aftercare dates,
and one Accept button; once the offer has ended, that the booking is unchanged, and nothing more.

Like the session's page (api/services/patient_page.py) it shows the least a patient needs, as a link can
be forwarded: the clinic's name and phone, the patient's first name, times, the practitioner and generic
aftercare. Reading it changes nothing (R25). The moves it shows are the offer's own dry run, the one an
accept repeats and must find again (api/services/offers.py).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.services.clinic import get_clinic
from api.services.links import issued, open_link
from api.services.patient_page import Care, ClinicContact, Moved, PatientPage, care_at, contact, patient_page
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork
from models import Course, Patient, PatientLink, Practitioner, Session, WaitlistOffer
from scheduling.links import OFFER
from scheduling.waitlist import OfferStatus


class OfferState(StrEnum):
    """What the patient can still do with the offer."""

    open = "open"  # Accept is offered
    accepted = "accepted"  # the patient took it: the session is booked at the new time
    ended = "ended"  # taken by someone else, withdrawn, expired: the booking is unchanged


@dataclass(frozen=True)
class OfferPage:
    clinic: ClinicContact
    state: OfferState
    first_name: str = ""
    number: int = 0  # the session's number in its course
    practitioner: str = ""
    current_at: datetime | None = None  # local: the session's time now
    new_at: datetime | None = None  # local: the offered time
    moved: tuple[Moved, ...] = ()  # the other sessions the offer moves (before: their time now)
    care: tuple[Care, ...] = ()  # the session's aftercare at the offered time
    expires_at: datetime | None = None  # local: until when the offer is open


def link_page(*, uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> PatientPage | OfferPage:
    """The page a working link opens: its session's, or its offer's; LinkUnknown or LinkGone otherwise (R24)."""
    link = open_link(uow, keys, token, now)
    if link.purpose != OFFER:
        return patient_page(uow=uow, keys=keys, token=token, now=now)
    return offer_page(uow, link, now)


def offer_page(uow: UnitOfWork, link: PatientLink, now: datetime) -> OfferPage:
    """What an offer's page shows now."""
    assert link.offer_id is not None  # offer links name an offer
    offer = uow.get(WaitlistOffer, link.offer_id)
    clinic = get_clinic(uow)
    if offer.status is OfferStatus.accepted:
        state = OfferState.accepted
    elif offer.status is OfferStatus.open and offer.expires_at is not None and offer.expires_at > now:
        state = OfferState.open
    else:
        return OfferPage(contact(clinic), OfferState.ended)  # R44: "and nothing more"
    zone = clinic.zone
    session = uow.get(Session, offer.session_id)
    course = uow.get(Course, session.course_id)
    now_at = {s.number: s.start_at for s in uow.course_sessions(course.id)}
    new_at = datetime.fromisoformat(offer.proposed["session"]["start"])
    moved = tuple(
        Moved(m["number"], now_at[m["number"]].astimezone(zone), datetime.fromisoformat(m["start"]).astimezone(zone))
        for m in offer.proposed["moved"]
    )
    return OfferPage(
        clinic=contact(clinic),
        state=state,
        first_name=uow.get(Patient, offer.patient_id).given_name,
        number=session.number,
        practitioner=uow.get(Practitioner, session.practitioner_id).name,
        current_at=session.start_at.astimezone(zone),
        new_at=new_at.astimezone(zone),
        moved=moved,
        care=care_at(uow, clinic, session, course, new_at),
        expires_at=offer.expires_at.astimezone(zone) if offer.expires_at else None,
    )


def ended_offer(*, uow: UnitOfWork, token: str) -> bool:
    """A link that no longer works (R24) was an offer's, and the offer was not accepted: its page says that the
    offer has ended and the booking is unchanged (R44), which is all it says."""
    link = issued(uow, token)
    if link is None or link.purpose != OFFER or link.offer_id is None:
        return False
    offer = uow.find(WaitlistOffer, link.offer_id)
    return offer is not None and offer.status is not OfferStatus.accepted
