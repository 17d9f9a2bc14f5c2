"""The page behind a patient's link (R24–R26, R44): no API key, HTML, and only what that link names: a session
(`manage`: confirm, cancel, move) or a waitlist offer (`offer`: accept).

Opening it (GET, HEAD) changes nothing: mail scanners and link previews open every link.
Actions are form POSTs answering 303 back to the page, so a refresh repeats nothing; a refused
one answers 409 with the page and an error summary, and changes nothing. An unknown link is 404,
a revoked or expired one 410, both a page naming the clinic only (an offer's 410 adds that the offer has
ended and the booking is unchanged, as a taken offer's page says). The token sits in the path and
never reaches a log (api/web/logs.py).
"""

from collections.abc import Callable
from operator import itemgetter
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request, Response

from api.patient_page.render import render_ended, render_offer, render_offer_ended, render_page
from api.services import offer_page, patient_actions, patient_page
from api.store import actors
from api.store.errors import LinkGone, LinkUnknown, PatientRefused
from api.store.tokens import LinkKeys
from api.store.unit_of_work import UnitOfWork
from api.web.transaction import TransactionDep
from models import Actor

router = APIRouter(prefix="/p", include_in_schema=False)

# R25: no copy kept, no address passed on, never indexed, nothing loaded or framed from elsewhere
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
}
Token = Annotated[str, Path(max_length=200)]
HTML = "text/html"


def _keys(http: Request) -> LinkKeys:
    keys: LinkKeys = http.app.state.link_keys
    return keys


async def _page(http: Request, tx: TransactionDep, token: str, *, done: str | None, error: str | None) -> Response:
    keys = _keys(http)

    def read(uow: UnitOfWork) -> tuple[int, str]:
        try:
            page = offer_page.link_page(uow=uow, keys=keys, token=token, now=tx.now)
        except (LinkUnknown, LinkGone) as exc:
            gone = isinstance(exc, LinkGone)
            if gone and offer_page.ended_offer(uow=uow, token=token):
                return 410, render_offer_ended(patient_page.clinic_contact(uow=uow))  # R44: an expired offer
            return (410 if gone else 404), render_ended(patient_page.clinic_contact(uow=uow), gone=gone)
        status_code = 409 if error else 200
        if isinstance(page, offer_page.OfferPage):
            return status_code, render_offer(page, token=token, error=error)
        return status_code, render_page(page, token=token, done=done, error=error)

    return await tx.read(read, status=itemgetter(0), render=itemgetter(1), media_type=HTML, headers=HEADERS)


@router.api_route("/{token}", methods=["GET", "HEAD"], name="patient_page")
async def show(
    token: Token, http: Request, tx: TransactionDep, done: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """The session's page, or the offer's; reading it changes nothing."""
    return await _page(http, tx, token, done=done, error=None)


async def _act(
    http: Request, tx: TransactionDep, token: str, action: Callable[[UnitOfWork, LinkKeys], str]
) -> Response:
    keys = _keys(http)

    def link(uow: UnitOfWork) -> Actor:
        return actors.patient_link(patient_actions.link_id(uow=uow, keys=keys, token=token, now=tx.now))

    try:
        # the link is the actor (R28): found first, then the change made in its name, the link checked again;
        # the answer is 303 back to the page (the route's status), so a refresh repeats nothing
        return await tx.write(
            lambda uow: action(uow, keys),
            actor=link,
            location=lambda outcome: f"/p/{token}?done={outcome}",
            headers=HEADERS,
        )
    except LinkUnknown:
        # no link, or one for another purpose (an offer's link takes no session's action, and back): 404
        return await tx.read(
            lambda uow: render_ended(patient_page.clinic_contact(uow=uow), gone=False),
            status=lambda _: 404,
            render=lambda body: body,
            media_type=HTML,
            headers=HEADERS,
        )
    except (LinkGone, PatientRefused) as exc:
        # nothing was written; the page answers as it is now, with why (R26, R44), or the link's end (R24)
        error = exc.code if isinstance(exc, PatientRefused) else None
        return await _page(http, tx, token, done=None, error=error)


async def _form(http: Request) -> dict[str, str]:
    """The posted form's fields (application/x-www-form-urlencoded), each field's first value."""
    fields = parse_qs((await http.body()).decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items() if values}


@router.post("/{token}/confirm", name="patient_confirm", status_code=303)
async def confirm(token: Token, http: Request, tx: TransactionDep) -> Response:
    """The patient will come."""
    return await _act(
        http, tx, token, lambda uow, keys: patient_actions.confirm(uow=uow, keys=keys, token=token, now=tx.now)
    )


@router.post("/{token}/cancel", name="patient_cancel", status_code=303)
async def cancel(token: Token, http: Request, tx: TransactionDep) -> Response:
    """The patient cannot come (`reason=cannot_make_it`), or wants to stop (`reason=stop_treatment`)."""
    reason = (await _form(http)).get("reason")
    act = patient_actions.cancel
    return await _act(
        http, tx, token, lambda uow, keys: act(uow=uow, keys=keys, token=token, reason=reason, now=tx.now)
    )


@router.post("/{token}/reschedule", name="patient_reschedule", status_code=303)
async def reschedule(token: Token, http: Request, tx: TransactionDep) -> Response:
    """The patient moves the session to one of the alternatives the page showed (`choice=`)."""
    choice = (await _form(http)).get("choice")
    act = patient_actions.reschedule
    return await _act(
        http, tx, token, lambda uow, keys: act(uow=uow, keys=keys, token=token, choice=choice, now=tx.now)
    )


@router.post("/{token}/accept", name="patient_accept", status_code=303)
async def accept(token: Token, http: Request, tx: TransactionDep) -> Response:
    """The patient takes the offered earlier time (R44): 303 back to the page, which shows the new time; someone
    else was first, or the offer ended or no longer fits: 409 with the page, and the booking is unchanged."""
    return await _act(
        http, tx, token, lambda uow, keys: patient_actions.accept(uow=uow, keys=keys, token=token, now=tx.now)
    )
