"""Patient links (R23, R24): issued, found by their token, and the URL a message carries.

A link's token is derived (scheduling/links.py), so the row keeps only its SHA-256 and the
parts it was derived from; the token is made again whenever a message or staff need it.
Whether a link still works is read from rows in the request's own transaction (its
`revoked_at`, its patient's `link_epoch`, its `expires_at`): a revocation holds in every
process from its commit on, as nothing is cached.

The secret and the public origin reach the use cases through the unit of work
(`uow.link_keys`, api/store/tokens.py), given by the shell: a use case that plans messages
without them (a unit opened with none) plans them without a link.
"""

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from api.settings import Settings
from api.store.errors import LinkGone, LinkUnknown
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork
from models import LinkSecret, Patient, PatientLink, Session, WaitlistOffer
from scheduling.lifecycle import ACTIVE
from scheduling.links import MANAGE, OFFER, link_token, looks_like_token, manage_expires_at, same_token, token_hash
from scheduling.waitlist import OfferStatus

_WRITTEN_TO = ("email", "sms")  # the channels that reach the patient: outbox and none carry no link


def load_keys(*, uow: UnitOfWork, settings: Settings, now: datetime) -> LinkKeys:
    """`PROLO_LINK_SECRET`, or the secret kept in the database, made now if there is none (R23)."""
    if settings.link_secret:
        secret = settings.link_secret
    else:
        row = uow.find(LinkSecret, 1)
        if row is None:
            uow.alone()  # replicas starting together: the first makes it, the others find it
            row = uow.find(LinkSecret, 1)
        if row is None:
            row = LinkSecret(id=1, secret=secrets.token_urlsafe(32), created_at=now)
            uow.add(row)
            uow.flush()
        secret = row.secret
    return LinkKeys(secret.encode(), settings.public_url)


def token_of(keys: LinkKeys, link: PatientLink) -> str:
    """The token of a link's row, made again from its parts."""
    subject = link.session_id if link.purpose == MANAGE else link.offer_id
    return link_token(
        keys.secret, purpose=link.purpose, subject_id=str(subject), version=link.version, epoch=link.epoch
    )


def _next_link(
    keys: LinkKeys,
    last: PatientLink | None,
    patient: Patient,
    now: datetime,
    expires_at: datetime,
    **subject: Any,
) -> PatientLink:
    """A subject's next link: its version one up from the last (R23), under the patient's epoch."""
    link = PatientLink(
        **subject,
        patient_id=patient.id,
        version=1 if last is None else last.version + 1,
        epoch=patient.link_epoch,
        created_at=now,
        expires_at=expires_at,
        token_hash="",
    )
    link.token_hash = token_hash(token_of(keys, link))
    return link


def works(link: PatientLink, patient: Patient, now: datetime) -> bool:
    """Not revoked, under the patient's current epoch, not expired (R23, R24)."""
    return link.revoked_at is None and link.epoch == patient.link_epoch and now < link.expires_at


def manage_link(uow: UnitOfWork, keys: LinkKeys, session: Session, patient: Patient, now: datetime) -> PatientLink:
    """The session's current `manage` link; a new one (its version one up) when the last no longer works."""
    return _manage_links(uow, keys, [session], patient, now)[session.id]


def _manage_links(
    uow: UnitOfWork, keys: LinkKeys, sessions: list[Session], patient: Patient, now: datetime
) -> dict[uuid.UUID, PatientLink]:
    """The current `manage` link of each session, made where the last no longer works: one read, one flush."""
    latest = _latest_manage_links(uow, [s.id for s in sessions])
    found: dict[uuid.UUID, PatientLink] = {}
    for session in sessions:
        link = latest.get(session.id)
        if link is None or not works(link, patient, now):
            expires_at = manage_expires_at(session_start_at=session.start_at, created_at=now)
            link = _next_link(keys, link, patient, now, expires_at, purpose=MANAGE, session_id=session.id)
            uow.add(link)
        found[session.id] = link
    uow.flush()
    return found


def _issuing(uow: UnitOfWork, patient: Patient) -> LinkKeys | None:
    """The keys the links in a message to the patient are made with; None when the shell gave no public origin,
    the unit only reads, or the patient is archived (R24) or not written to."""
    keys = uow.link_keys
    writes = patient.reminder_consent and patient.reminder_channel in _WRITTEN_TO
    if keys is None or keys.public_url is None or patient.archived or not writes or not uow.writes:
        return None
    return keys


def message_links(uow: UnitOfWork, sessions: Iterable[Session], patient: Patient, now: datetime) -> dict[str, str]:
    """The link every patient message about these sessions carries, by session id: active sessions still to
    come, when the shell gave a public origin; none for an archived patient (R24) or one not written to."""
    keys = _issuing(uow, patient)
    if keys is None:
        return {}
    to_come = [s for s in sessions if s.status in ACTIVE and s.start_at > now]
    if not to_come:
        return {}
    links = _manage_links(uow, keys, to_come, patient, now)
    urls = {str(session_id): keys.url(token_of(keys, link)) for session_id, link in links.items()}
    return {session_id: url for session_id, url in urls.items() if url is not None}


def link_for_session(uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> str | None:
    """The URL a message about this session carries (confirm requests, change notices …), or None."""
    session = uow.find(Session, session_id)
    if session is None:
        return None
    patient = uow.get(Patient, session.patient_id)
    return message_links(uow, [session], patient, now).get(str(session_id))


def offer_url(uow: UnitOfWork, offer: WaitlistOffer, patient: Patient, now: datetime) -> str | None:
    """The URL of the offer's page (R23, R44), made when the offer has none that works: it works until the
    offer expires. None while the offer is not open, or when no public origin was given or the patient is not
    written to (as :func:`message_links`)."""
    keys = _issuing(uow, patient)
    if keys is None:
        return None
    if offer.status is not OfferStatus.open or offer.expires_at is None or offer.expires_at <= now:
        return None
    query = (
        select(PatientLink)
        .where(col(PatientLink.offer_id) == offer.id, col(PatientLink.purpose) == OFFER)
        .order_by(col(PatientLink.version).desc())
        .limit(1)
    )
    link: PatientLink | None = uow.execute(query).scalar_one_or_none()
    if link is None or not works(link, patient, now):
        # R23: an offer link works until its offer expires
        link = _next_link(keys, link, patient, now, offer.expires_at, purpose=OFFER, offer_id=offer.id)
        uow.add(link)
        uow.flush()
    return keys.url(token_of(keys, link))


def open_link(uow: UnitOfWork, keys: LinkKeys, token: str, now: datetime) -> PatientLink:
    """The link a token opens: LinkUnknown (404) for no link of Prolo's, LinkGone (410) for one that ended."""
    link = issued(uow, token)
    if link is None:
        raise LinkUnknown()
    patient = uow.get(Patient, link.patient_id)
    # a new link secret ends every link made with the old one (R23)
    if not same_token(token_of(keys, link), token) or not works(link, patient, now):
        raise LinkGone()
    return link


def issued(uow: UnitOfWork, token: str) -> PatientLink | None:
    """The link a token was issued for, whether or not it still works; None for no link of Prolo's."""
    if not looks_like_token(token):
        return None
    query = select(PatientLink).where(col(PatientLink.token_hash) == token_hash(token))
    link: PatientLink | None = uow.execute(query).scalar_one_or_none()
    return link


def _latest_manage_links(uow: UnitOfWork, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, PatientLink]:
    query = (
        select(PatientLink)
        .where(col(PatientLink.session_id).in_(session_ids), col(PatientLink.purpose) == MANAGE)
        .order_by(col(PatientLink.version))
    )
    return {link.session_id: link for link in uow.execute(query).scalars() if link.session_id is not None}
