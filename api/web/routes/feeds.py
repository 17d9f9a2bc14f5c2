"""Calendar feeds (S9): patients' and practitioners' calendars, and the secret URLs calendar apps subscribe to."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from api.feeds import service, tokens
from api.feeds.ical import render
from api.feeds.service import FeedView
from api.services import patients, practitioners
from api.store.unit_of_work import UnitOfWork
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS
from api.web.transaction import Transaction, TransactionDep
from models import CalendarFeedUrl

router = APIRouter(tags=["calendar feeds"])
_staff = [Depends(requires(*STAFF))]

ICALENDAR = "text/calendar"
_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Prolo//Prolo calendar feeds//EN\r\n…\r\n"
    "BEGIN:VEVENT\r\nSUMMARY:Session 1 at Riverside Prolotherapy\r\n"
    "DTSTART;TZID=Europe/Berlin:20270301T090000\r\nDTEND;TZID=Europe/Berlin:20270301T094500\r\n"
    "UID:session-…-patient@prolo\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
_FEED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar feed (RFC 5545), with a strong `ETag`",
        "content": {ICALENDAR: {"schema": {"type": "string"}, "example": _EXAMPLE}},
    },
    304: {"description": "Unchanged since the `ETag` given in `If-None-Match`: no body"},
}
FEED_RESPONSES = {**PROBLEMS, **_FEED}
# The secret URL needs no key, so it never answers 401 or 403.
OPEN_FEED_RESPONSES = {status: answer for status, answer in FEED_RESPONSES.items() if status not in (401, 403)}
IfNoneMatch = Annotated[
    str | None,
    Header(max_length=1000, description="The `ETag` of the copy you hold: 304 while the feed is unchanged"),
]
Token = Annotated[str, Path(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


# private: a feed is one person's; no-cache: apps always ask, and an unchanged feed costs a 304 (its ETag).
_AS_FEED: dict[str, Any] = {
    "render": render,
    "media_type": f"{ICALENDAR}; charset=utf-8",
    "headers": {"Cache-Control": "private, no-cache"},
    "etag": True,
}


def _url(http: Request, token: str) -> CalendarFeedUrl:
    """The feed's absolute URL: under PROLO_PUBLIC_URL when set (behind a proxy), else where this request came."""
    public_url: str | None = http.app.state.settings.public_url
    if public_url:
        return CalendarFeedUrl(url=public_url.rstrip("/") + http.app.url_path_for("calendar_by_token", token=token))
    return CalendarFeedUrl(url=str(http.url_for("calendar_by_token", token=token)))


@router.get(
    "/v1/patients/{patient_id}/calendar.ics",
    dependencies=_staff,
    response_class=Response,
    responses=FEED_RESPONSES,
    summary="A patient's calendar feed",
)
async def patient_calendar(patient_id: uuid.UUID, tx: TransactionDep, if_none_match: IfNoneMatch = None) -> Response:
    """The patient's sessions (cancelled ones marked `STATUS:CANCELLED`) and aftercare days (no NSAIDs, exercises,
    the clinic's call) as all-day events, from half a year back. With an API key the events also name the condition
    and the drugs to pause; the patient's own calendar app uses the secret URL instead (`POST …/calendar-token`)."""
    return await tx.read(
        lambda uow: service.patient_feed(uow=uow, patient_id=patient_id, view=FeedView.staff, now=tx.now),
        **_AS_FEED,
    )


@router.get(
    "/v1/practitioners/{practitioner_id}/calendar.ics",
    dependencies=_staff,
    response_class=Response,
    responses=FEED_RESPONSES,
    summary="A practitioner's calendar feed",
)
async def practitioner_calendar(
    practitioner_id: uuid.UUID, tx: TransactionDep, if_none_match: IfNoneMatch = None
) -> Response:
    """The practitioner's sessions, from half a year back, with patients' names and conditions. Their phone
    subscribes to the secret URL instead (`POST …/calendar-token`), which shows patients' initials only."""
    return await tx.read(
        lambda uow: service.practitioner_feed(
            uow=uow, practitioner_id=practitioner_id, view=FeedView.staff, now=tx.now
        ),
        **_AS_FEED,
    )


@router.post(
    "/v1/patients/{patient_id}/calendar-token",
    status_code=201,
    response_model=CalendarFeedUrl,
    dependencies=_staff,
    responses=PROBLEMS,
    summary="A new secret feed URL for a patient",
)
async def patient_calendar_token(patient_id: uuid.UUID, http: Request, tx: TransactionDep) -> Response:
    """Give the patient this URL to subscribe to in their phone's calendar: it needs no API key, and shows
    their appointments and aftercare days but no condition, medication, allergy or note. It is shown only
    here. Asking again makes a new URL and stops the old one (lost phone, URL shared by mistake)."""
    current = patients.patient_for_change  # If-Match: the patient's ETag
    return await _new_url(http, tx, "patient", patient_id, lambda uow: current(uow=uow, patient_id=patient_id))


@router.post(
    "/v1/practitioners/{practitioner_id}/calendar-token",
    status_code=201,
    response_model=CalendarFeedUrl,
    dependencies=_staff,
    responses=PROBLEMS,
    summary="A new secret feed URL for a practitioner",
)
async def practitioner_calendar_token(practitioner_id: uuid.UUID, http: Request, tx: TransactionDep) -> Response:
    """A URL for the practitioner's phone calendar: their sessions, with patients' initials only. It is shown
    only here; asking again makes a new URL and stops the old one."""
    current = practitioners.practitioner_for_change
    return await _new_url(
        http, tx, "practitioner", practitioner_id, lambda uow: current(uow=uow, practitioner_id=practitioner_id)
    )


async def _new_url(
    http: Request, tx: Transaction, owner: tokens.Owner, owner_id: uuid.UUID, current: Callable[[UnitOfWork], Any]
) -> Response:
    """A new secret URL for the owner's feed; `current`: the owner as GET shows them (If-Match names its ETag)."""
    return await tx.write(
        lambda uow: _url(http, tokens.new_token(uow=uow, owner=owner, owner_id=owner_id, now=tx.now)),
        current=current,
        secret=lambda _: f"a new feed URL for {owner} {owner_id}, which stopped the one before",
    )


@router.get(
    "/v1/calendar/{token}.ics",
    name="calendar_by_token",
    response_class=Response,
    responses=OPEN_FEED_RESPONSES,
    summary="A calendar feed by its secret URL (no API key)",
)
async def calendar_by_token(token: Token, tx: TransactionDep, if_none_match: IfNoneMatch = None) -> Response:
    """What calendar apps subscribe to. 404 once a newer URL replaced it. Names no condition, medication,
    allergy or note; a practitioner's feed shows patients' initials only."""
    return await tx.read(lambda uow: service.feed_by_token(uow=uow, token=token, now=tx.now), **_AS_FEED)
