"""Secret calendar-feed URLs (S9): made, replaced and looked up; stored only as SHA-256 hashes.

Calendar apps cannot send an API key, so a feed they subscribe to is opened by a secret
in its URL. Such URLs leak (they sit in calendar apps and their sync logs), so each
patient or practitioner has at most one: asking for a new one deletes the old one's row
in the same transaction, and the old URL answers 404 from then on. Like API keys
(api/store/tokens.py), tokens are 256-bit random strings, so one SHA-256 is the right hash.
"""

import secrets
import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlmodel import col

from api.store.tokens import hash_key
from api.store.unit_of_work import UnitOfWork
from models import CalendarToken, Patient, Practitioner

Owner = Literal["patient", "practitioner"]
_OWNERS: dict[str, type[Patient | Practitioner]] = {"patient": Patient, "practitioner": Practitioner}


def new_token(*, uow: UnitOfWork, owner: Owner, owner_id: uuid.UUID, now: datetime) -> str:
    """A new token for a patient's or a practitioner's feed; the old one's row goes in the same transaction,
    and its URL stops working."""
    uow.lock(_OWNERS[owner], owner_id)  # two staff asking at once: one after the other
    owner_column = f"{owner}_id"
    old = uow.execute(select(CalendarToken).where(getattr(CalendarToken, owner_column) == owner_id)).scalars().all()
    for row in old:
        uow.delete(row)  # through the ORM, so the audit trail records the old URL's end (S7)
    uow.flush()  # the owner's one-token rule holds before the new row arrives
    token = secrets.token_urlsafe(32)
    uow.add(CalendarToken(**{owner_column: owner_id}, token_hash=hash_key(token), created_at=now))
    uow.flush()
    return token


def find_token(uow: UnitOfWork, token: str) -> CalendarToken | None:
    """The live token row for this secret, or None (unknown, or replaced by a newer one)."""
    query = select(CalendarToken).where(col(CalendarToken.token_hash) == hash_key(token))
    return uow.execute(query).scalar_one_or_none()
