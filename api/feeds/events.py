"""What a calendar feed holds: its appointments and all-day aftercare events, already worded.

The use case (api/feeds/service.py) decides what each event says, and so what a
feed reached by its secret URL may show; the writer (api/feeds/ical.py) only encodes it.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TimedEvent:
    """A session: a start and end instant, shown in the clinic's zone."""

    uid: str  # stable: derived from the session id
    sequence: int  # rises with every move or status change (RFC 5545 SEQUENCE)
    start_at: datetime  # aware
    end_at: datetime
    summary: str
    description: str | None
    location: str | None
    cancelled: bool
    stamp_at: datetime  # DTSTAMP: fixed per event, so an unchanged feed keeps its bytes and its ETag


@dataclass(frozen=True)
class DayEvent:
    """An aftercare window: whole local days, `last_date` included."""

    uid: str  # stable: derived from the session id and the rule's code
    sequence: int  # the session's: the window moves with it
    first_date: date
    last_date: date
    summary: str
    description: str | None
    stamp_at: datetime


@dataclass(frozen=True)
class Feed:
    """One calendar: its name, the clinic's zone, and its events in order."""

    uid: str
    name: str
    zone: ZoneInfo
    events: tuple[TimedEvent | DayEvent, ...]
