"""A feed as RFC 5545 text, written by the `icalendar` library.

Sessions are timed events in the clinic's zone (`DTSTART;TZID=Europe/Berlin:…`) with the
zone's VTIMEZONE, made from the zone database for the years the feed spans, so every app
places 09:00 at 09:00 local on both sides of a daylight-saving change (R1). Aftercare
windows are all-day events (`VALUE=DATE`) whose DTEND is the day after the last one:
RFC 5545 ends all-day events exclusively.

Nothing here reads a clock: the same feed gives the same bytes, so its ETag only changes
when the feed does, and a calendar app polling every few minutes costs a 304.
"""

from datetime import date, timedelta

from icalendar import STATUS, TRANSP, Calendar, Event

from api.feeds.events import DayEvent, Feed, TimedEvent
from scheduling.messages import one_line

PRODID = "-//Prolo//Prolo calendar feeds//EN"
# How often calendar apps should fetch the feed again: RFC 7986's property, and Outlook's older one.
REFRESH = timedelta(hours=1)
REFRESH_TEXT = "PT1H"
_ONE_DAY = timedelta(days=1)


def render(feed: Feed) -> bytes:
    """The feed as an iCalendar object (UTF-8, CRLF line ends, lines folded at 75 octets)."""
    calendar = Calendar.new(prodid=PRODID, name=one_line(feed.name), uid=feed.uid, calscale="GREGORIAN")
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", REFRESH_TEXT)
    for item in feed.events:
        calendar.add_component(_timed(item, feed) if isinstance(item, TimedEvent) else _all_day(item))
    timed = [e.start_at.astimezone(feed.zone).date() for e in feed.events if isinstance(e, TimedEvent)]
    if timed:
        # The zone's rules for the years the sessions fall in, from 1 January to 1 January.
        calendar.add_missing_timezones(date(min(timed).year, 1, 1), date(max(timed).year + 1, 1, 1))
    body: bytes = calendar.to_ical()
    return body


def _timed(item: TimedEvent, feed: Feed) -> Event:
    return Event.new(
        uid=item.uid,
        sequence=item.sequence,
        start=item.start_at.astimezone(feed.zone),
        end=item.end_at.astimezone(feed.zone),
        stamp=item.stamp_at,
        summary=one_line(item.summary),
        description=_lines(item.description),
        location=None if item.location is None else one_line(item.location),
        status=STATUS.CANCELLED if item.cancelled else STATUS.CONFIRMED,
        # a cancelled session no longer blocks the time
        transparency=TRANSP.TRANSPARENT if item.cancelled else TRANSP.OPAQUE,
    )


def _all_day(item: DayEvent) -> Event:
    return Event.new(
        uid=item.uid,
        sequence=item.sequence,
        start=item.first_date,
        end=item.last_date + _ONE_DAY,  # exclusive: the day after the window's last day
        stamp=item.stamp_at,
        summary=one_line(item.summary),
        description=_lines(item.description),
        transparency=TRANSP.TRANSPARENT,  # advice for the day, not a busy time
    )


def _lines(text: str | None) -> str | None:
    """A description's lines, each free of control characters: `icalendar` escapes line feeds in text, but
    writes a carriage return or a name's line break in the calendar's own name as they are, which breaks the
    file (a row stored before S2 refused them)."""
    return None if text is None else "\n".join(one_line(line) for line in text.splitlines())
