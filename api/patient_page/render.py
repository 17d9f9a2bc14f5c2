"""The patient's page as HTML (R25): Jinja2, autoescaped, self-contained, usable without scripts.

Inline styles only (the page's CSP allows nothing else), no script, no image, no font or
link from elsewhere. Written for a phone first and for large text: one column, relative
sizes, every button and choice at least 44 × 44 CSS px. Dates are spelled with fixed
English names, never the process locale's.
"""

from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined

from api.services.offer_page import OfferPage
from api.services.patient_page import ClinicContact, PatientPage
from scheduling.messages import CALL_THE_CLINIC_IF

_ENV = Environment(
    loader=PackageLoader("api.patient_page", "templates"),
    autoescape=True,  # every value is text, whatever it holds
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
STATUS_WORDS = {
    "scheduled": "Booked",
    "confirmed": "Confirmed by you",
    "checked_in": "You have arrived",
    "completed": "Done",
    "cancelled": "Cancelled",
    "no_show": "Missed",
}
DONE = {
    "confirmed": "Thank you: your session is confirmed.",
    "already_confirmed": "Your session was already confirmed. Nothing has changed.",
    "cancelled": "Your session is cancelled.",
    "stop_requested": "We have told the clinic that you want to stop. Someone will call you. Nothing is cancelled yet.",
    "rescheduled": "Your session has moved. The new time is shown below.",
}
# R26: why an action was refused; {phone} is the clinic's
ERRORS = {
    "notice_passed": "It is too close to your session to change it here.",
    "not_open": "This session can no longer be changed here.",
    "choice_taken": "That time was just taken. Please choose another time.",
    "choose_reason": "Choose why you want to cancel.",
    "choose_time": "Choose a new time.",
}
# R44: why an accept was refused (the booking is unchanged in each case)
OFFER_ERRORS = {
    "offer_invalid": "Your course has changed since we offered this time, so it can no longer be moved as shown.",
}
# where each error's field is, for the error summary's link
ERROR_FIELDS = {"choose_reason": "reason-cannot_make_it", "choose_time": "move-0", "choice_taken": "move-0"}


def _day(value: datetime) -> str:
    return f"{_WEEKDAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def _clock(value: datetime) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


_ENV.filters.update(day=_day, clock=_clock)
_ENV.globals.update(STATUS_WORDS=STATUS_WORDS, DONE=DONE, ERRORS=ERRORS, ERROR_FIELDS=ERROR_FIELDS)
_ENV.globals.update(CALL_IF=CALL_THE_CLINIC_IF, OFFER_ERRORS=OFFER_ERRORS)


def render_page(page: PatientPage, *, token: str, done: str | None = None, error: str | None = None) -> str:
    """The session's page; `done`: the outcome of the action just made; `error`: why one was refused."""
    return _ENV.get_template("page.html").render(
        p=page,
        clinic=page.clinic,
        token=token,
        done=done if done in DONE else None,
        error=error if error in ERRORS else None,
    )


def render_ended(clinic: ClinicContact, *, gone: bool) -> str:
    """R24: the page of an unknown (404) or ended (410) link: the clinic's name and phone, nothing about anyone."""
    return _ENV.get_template("ended.html").render(clinic=clinic, gone=gone)


def render_offer(page: OfferPage, *, token: str, error: str | None = None) -> str:
    """An offer's page (R44); once it has ended, only that it has ended and the booking is unchanged."""
    if page.state == "ended":
        return render_offer_ended(page.clinic)
    return _ENV.get_template("offer.html").render(
        o=page, clinic=page.clinic, token=token, error=error if error in OFFER_ERRORS else None
    )


def render_offer_ended(clinic: ClinicContact) -> str:
    """R44: an offer that was taken, withdrawn or has expired: it has ended and the booking is unchanged."""
    return _ENV.get_template("offer_ended.html").render(clinic=clinic)
