"""The handout as HTML: Jinja2 with autoescaping, so a name like `<script>` prints as text.

The page is self-contained (inline CSS, no script, no image, no font or link from
elsewhere): it prints the same from a saved file, offline. `@page` sets the paper when
staff ask for one; otherwise the printer's own paper is used, and the layout fits
both A4 (210 × 297 mm) and US Letter (216 × 279 mm) inside the same margins.
"""

from datetime import date, datetime
from enum import StrEnum

from jinja2 import Environment, PackageLoader, StrictUndefined

from api.services.handout import Handout
from scheduling.aftercare import Window
from scheduling.messages import (
    CALL_THE_CLINIC_IF,
    COMMON_NSAIDS,
    NSAID_ALTERNATIVE,
    class_name,
    day_text,
)
from scheduling.spans import DateRange


class Paper(StrEnum):
    a4 = "a4"
    letter = "letter"


_ENV = Environment(
    loader=PackageLoader("api.handout", "templates"),
    autoescape=True,  # every value is text, whatever it holds
    undefined=StrictUndefined,  # a misspelt name fails the render, never prints blank
    trim_blocks=True,
    lstrip_blocks=True,
)


def _day(value: date | datetime, with_year: bool = False) -> str:
    return day_text(value if not isinstance(value, datetime) else value.date(), with_year=with_year)


def _clock(value: datetime) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _cell(window: Window, session_day: date) -> str:
    """A window in a table cell: "Thu 4 Mar", "until Fri 5 Mar" (from the session's day), or "Wed 3 – Sun 14 Mar"."""
    if window.from_date == window.until_date:
        return _day(window.from_date)
    if window.from_date == session_day:
        return f"until {_day(window.until_date)}"
    return f"{_day(window.from_date)} – {_day(window.until_date)}"


def _run(days: DateRange) -> str:
    if days.start_date == days.end_date:
        return _day(days.start_date, with_year=True)
    return f"{_day(days.start_date)} – {_day(days.end_date, with_year=True)}"


_ENV.filters.update(day=_day, clock=_clock, cell=_cell, run=_run, class_name=class_name)
_ENV.globals.update(COMMON_NSAIDS=COMMON_NSAIDS, NSAID_ALTERNATIVE=NSAID_ALTERNATIVE, CALL_IF=CALL_THE_CLINIC_IF)


def render(handout: Handout, *, paper: Paper | None) -> str:
    """The handout page; `paper` fixes the sheet size, None leaves it to the printer."""
    return _ENV.get_template("handout.html").render(h=handout, paper=paper)
