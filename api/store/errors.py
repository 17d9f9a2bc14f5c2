"""Errors of Prolo's use cases. They carry data; `api/web/problems.py` maps them to HTTP.

    ProloError
     ├── NotFound            an id that names nothing (entity, id)
     ├── Conflict            the request clashes with what is stored
     │    ├── DuplicateMrn   another patient has this MRN
     │    └── SlotTaken      the time was booked by someone else meanwhile
     ├── PreconditionFailed  If-Match names an ETag that is no longer current (S6)
     ├── InvalidCursor       an audit feed cursor this database did not give out (S7)
     ├── KeyRevoked          a change asked for with an API key revoked meanwhile (S4)
     ├── LinkUnknown         a patient link Prolo never issued (R24: 404)
     ├── LinkGone            a patient link revoked or expired (R24: 410)
     ├── PatientRefused      an action through a link that is not open now (R26: 409, the page says why)
     └── InvalidInput        well-formed, but not acceptable (field, message)

The planner's own errors (`scheduling.SchedulingError`, e.g. `NoSlotAvailable`)
reach the API unchanged and are mapped there too.
"""

import uuid
from typing import Any


class ProloError(Exception):
    """Base of every use-case error."""


class NotFound(ProloError):
    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = str(entity_id)


class Conflict(ProloError):
    code = "conflict"  # S2's code: the API's answer names it (api/web/problems.py)

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class DuplicateMrn(Conflict):
    code = "duplicate_mrn"

    def __init__(self, mrn: str) -> None:
        super().__init__(f"a patient with MRN {mrn!r} exists already", mrn=mrn)


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, detail: str = "that time was booked by someone else meanwhile") -> None:
        super().__init__(detail)


class PreconditionFailed(ProloError):
    """S6: the client's `If-Match` names a version of the resource that is no longer current, or (no
    `current_etag`) the request's target has no ETag to check it against."""

    def __init__(self, current_etag: str | None) -> None:
        super().__init__(
            "the resource changed since you read it: read it again, then decide (If-Match is stale)"
            if current_etag
            else "this request's target has no ETag, so If-Match cannot be checked: send it without If-Match"
        )
        self.current_etag = current_etag


class InvalidInput(ProloError):
    def __init__(self, field: str, message: str, *, where: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.where = where  # body, query or header


class InvalidCursor(ProloError):
    """S7: `after` is no cursor this database gave out; `malformed` when it is not even one's shape."""

    def __init__(self, detail: str, *, malformed: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.malformed = malformed


class KeyRevoked(ProloError):
    """S4: the API key of a change was revoked (by any process) after this process last checked it."""

    def __init__(self, key_id: uuid.UUID) -> None:
        super().__init__("unknown or revoked API key")
        self.key_id = key_id


class LinkUnknown(ProloError):
    """R24: no link of Prolo's has this token."""

    def __init__(self) -> None:
        super().__init__("no such link")


class LinkGone(ProloError):
    """R24: the link was revoked (by staff, a new phone or email, archiving) or has expired."""

    def __init__(self) -> None:
        super().__init__("this link has ended")


class PatientRefused(ProloError):
    """R26, R44: the patient's action is not open now (`code`: `notice_passed`, `not_open`, `choice_taken`,
    `choose_reason`, `choose_time`; for an offer `offer_taken`, `offer_invalid`, `offer_ended`); nothing
    changed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
