"""Errors of Prolo's use cases. They carry data; `api/errors.py` maps them to HTTP.

    ProloError
     ├── NotFound            an id that names nothing (entity, id)
     ├── Conflict            the request clashes with what is stored
     │    ├── DuplicateMrn   another patient has this MRN
     │    └── SlotTaken      the time was booked by someone else meanwhile
     └── InvalidInput        well-formed, but not acceptable (field, message)

The planner's own errors (`scheduling.SchedulingError`, e.g. `NoSlotAvailable`)
reach the API unchanged and are mapped there too.
"""

from typing import Any


class ProloError(Exception):
    """Base of every use-case error."""


class NotFound(ProloError):
    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = str(entity_id)


class Conflict(ProloError):
    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class DuplicateMrn(Conflict):
    def __init__(self, mrn: str) -> None:
        super().__init__(f"a patient with MRN {mrn!r} exists already", mrn=mrn)


class SlotTaken(Conflict):
    def __init__(self, detail: str = "that time was booked by someone else meanwhile") -> None:
        super().__init__(detail)


class InvalidInput(ProloError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
