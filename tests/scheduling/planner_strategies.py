"""Hypothesis strategies: generated calendars, protocols and planning questions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from scheduling import Busy, Calendar, DateRange, HoursInterval, ProtocolValues

# The days of 2027 on which each zone changes its UTC offset: questions start near
# them half of the time. Lord Howe moves by 30 minutes; Santiago changes at midnight.
CHANGES = {
    "UTC": [],
    "Europe/Berlin": [date(2027, 3, 28), date(2027, 10, 31)],
    "America/New_York": [date(2027, 3, 14), date(2027, 11, 7)],
    "Australia/Lord_Howe": [date(2027, 4, 4), date(2027, 10, 3)],
    "America/Santiago": [date(2027, 4, 3), date(2027, 9, 5)],
}
OFFICE = tuple(HoursInterval(d, time(8), time(17)) for d in range(5))
EVERY_DAY = tuple(HoursInterval(d, time(8), time(17)) for d in range(7))
# Night hours put slots into the spring-forward gaps and the fall-back folds.
NIGHTS = tuple(HoursInterval(d, time(0), time(5)) for d in range(7))


@dataclass(frozen=True)
class Question:
    """Everything one plan_course call gets, apart from the calendar and protocol."""

    start_date: date
    preferred_time: time | None
    now: datetime
    first_number: int
    count: int | None
    previous_start_at: datetime | None
    anchor_time: time | None
    search_days: int


def five_minute_time(lo: int = 0, hi: int = 24 * 12 - 1) -> st.SearchStrategy[time]:
    return st.integers(lo, hi).map(lambda n: time(n // 12, n % 12 * 5))


@st.composite
def weekly_hours(draw: st.DrawFn) -> tuple[HoursInterval, ...]:
    intervals = []
    for weekday in range(7):
        for _ in range(draw(st.integers(0, 2))):
            start = draw(st.integers(0, 24 * 12 - 2))
            end = min(start + draw(st.integers(1, 12 * 12)), 24 * 12 - 1)
            intervals.append(HoursInterval(weekday, time(start // 12, start % 12 * 5), time(end // 12, end % 12 * 5)))
    return tuple(intervals)


def spans(origin: datetime, count: int, days: int, longest_minutes: int) -> st.SearchStrategy[list[Busy]]:
    one = st.tuples(st.integers(0, days * 24 * 12), st.integers(1, longest_minutes // 5)).map(
        lambda p: Busy(origin + timedelta(minutes=5 * p[0]), origin + timedelta(minutes=5 * (p[0] + p[1])))
    )
    return st.lists(one, max_size=count)


@st.composite
def calendars(draw: st.DrawFn, zone: ZoneInfo, around: date) -> Calendar:
    opening = draw(st.sampled_from([OFFICE, EVERY_DAY, NIGHTS, NIGHTS]) | weekly_hours())
    working = draw(st.one_of(st.just(opening), weekly_hours()))
    origin = datetime.combine(around - timedelta(days=2), time(0), tzinfo=UTC)
    closures = draw(
        st.lists(
            st.tuples(st.integers(0, 60), st.integers(0, 6)).map(
                lambda p: DateRange(around + timedelta(days=p[0]), around + timedelta(days=p[0] + p[1]))
            ),
            max_size=4,
        )
    )
    return Calendar(
        zone,
        opening,
        working,
        draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60])),
        closures=tuple(closures),
        time_off=tuple(draw(spans(origin, 2, 60, 4 * 24 * 60))),
        practitioner_busy=tuple(sorted(draw(spans(origin, 60, 60, 240)), key=lambda b: b.start_at)),
        patient_busy=tuple(draw(spans(origin, 4, 60, 60))),
    )


@st.composite
def protocols(draw: st.DrawFn) -> ProtocolValues:
    interval = draw(st.integers(1, 21))
    return ProtocolValues(
        session_count=draw(st.integers(1, 5)),
        interval_days=interval,
        interval_tolerance_days=draw(st.integers(0, interval - 1)),
        min_interval_days=draw(st.integers(0, interval)),
        session_minutes=draw(st.sampled_from([15, 30, 45, 60, 90])),
    )


@st.composite
def questions(draw: st.DrawFn, around: date, protocol: ProtocolValues) -> Question:
    start_date = around + timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 2, 5])))
    midnight_at = datetime.combine(around, time(0), tzinfo=UTC)
    now = midnight_at + timedelta(seconds=draw(st.integers(-2 * 86400, 5 * 86400)))
    first_number = draw(st.integers(1, protocol.session_count))
    previous = draw(st.none() | st.integers(-20 * 24, 0).map(lambda h: now + timedelta(hours=h)))
    return Question(
        start_date=start_date,
        preferred_time=draw(st.none() | five_minute_time()),
        now=now,
        first_number=first_number,
        count=draw(st.none() | st.integers(1, protocol.session_count - first_number + 1)),
        previous_start_at=previous,
        anchor_time=draw(st.none() | five_minute_time()),
        search_days=draw(st.sampled_from([1, 7, 30, 90, 90, 90])),
    )


@st.composite
def places(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    """A zone and a date to ask about: near one of its DST changes, or any day of 2027."""
    name = draw(st.sampled_from(sorted(CHANGES)))
    any_day = st.integers(0, 364).map(lambda n: date(2027, 1, 1) + timedelta(days=n))
    if CHANGES[name]:
        near_change = st.tuples(st.sampled_from(CHANGES[name]), st.integers(-2, 0)).map(
            lambda p: p[0] + timedelta(days=p[1])
        )
        return ZoneInfo(name), draw(near_change | any_day)
    return ZoneInfo(name), draw(any_day)
