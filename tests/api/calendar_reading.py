"""Reading a calendar feed the way calendar apps do, with two readers that must agree.

`icalendar` reads the events as stored; `recurring-ical-events` expands the calendar
over a date range, as an app showing a month does. Both must find the same events
with the same instants. Timed events are also placed by the feed's own VTIMEZONE
(not by the zone database the readers fall back on), as Outlook and older apps do.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import icalendar
import recurring_ical_events
from fastapi.testclient import TestClient

# Wide enough for every course the tests book (2027) and the feeds' half year of history.
EXPANDED = (date(2026, 1, 1), date(2029, 1, 1))
ICALENDAR = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Item:
    """One event as a calendar app shows it: timed events in UTC, all-day ones as dates (end exclusive)."""

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    description: str
    status: str
    sequence: int

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def _instant(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "a floating time: apps would place it in the phone's zone"
        return value.astimezone(UTC)
    return value


def _item(event: Any) -> Item:
    return Item(
        uid=str(event["UID"]),
        start=_instant(event.decoded("DTSTART")),
        end=_instant(event.decoded("DTEND")),
        summary=str(event.get("SUMMARY", "")),
        description=str(event.get("DESCRIPTION", "")),
        status=str(event.get("STATUS", "")),
        sequence=int(event.get("SEQUENCE", 0)),
    )


def read_feed(body: bytes) -> dict[str, Item]:
    """Every event of the feed by UID, after checking that both readers and the VTIMEZONE agree."""
    lines = body.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-1] == b"", "RFC 5545: CRLF line ends"
    assert all(len(line) <= 75 for line in lines), "RFC 5545: lines folded at 75 octets"
    calendar = icalendar.Calendar.from_ical(body)
    stored = {item.uid: item for item in map(_item, calendar.walk("VEVENT"))}
    assert len(stored) == len(calendar.walk("VEVENT")), "UIDs are unique"
    expanded = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(*EXPANDED)
    assert {item.uid: item for item in map(_item, expanded)} == stored
    timezones: list[Any] = calendar.walk("VTIMEZONE")
    zones = {str(tz["TZID"]): tz.to_tz() for tz in timezones}
    for event in calendar.walk("VEVENT"):
        start: Any = event["DTSTART"]
        if isinstance(start.dt, datetime):
            by_vtimezone = start.dt.replace(tzinfo=zones[start.params["TZID"]])
            assert by_vtimezone.astimezone(UTC) == stored[str(event["UID"])].start
    return stored


def sessions_of(items: dict[str, Item]) -> list[Item]:
    return sorted((i for i in items.values() if not i.all_day), key=lambda i: (i.start, i.uid))


def days_of(items: dict[str, Item]) -> list[Item]:
    return sorted((i for i in items.values() if i.all_day), key=lambda i: (i.start, i.uid))


def unfolded_text(body: bytes) -> str:
    """The feed's text with folded lines joined and escapes undone, for searching it."""
    text = body.decode().replace("\r\n ", "").replace("\r\n\t", "")
    return text.replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n").replace("\\\\", "\\")


@contextmanager
def without_key(client: TestClient) -> Iterator[TestClient]:
    """The same client with no API key, as a calendar app calls."""
    saved = client.headers.pop("Authorization", None)
    try:
        yield client
    finally:
        if saved is not None:
            client.headers["Authorization"] = saved
