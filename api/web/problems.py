"""RFC 9457 problem details for every error the API answers (SPEC S2).

Every problem carries a stable snake_case `code` that software branches on without reading
`detail`; :data:`CODES` lists them all with their statuses (the README's "Errors" section
shows this table), and :func:`problem` answers no other. The handlers below map the domain's
errors to them; the domain never knows HTTP.
"""

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.store.admission import AdmissionTimeout
from api.store.errors import Conflict, InvalidCursor, InvalidInput, KeyRevoked, NotFound, PreconditionFailed
from api.web.logs import traceback_without_messages
from scheduling import IllegalTransition, MinIntervalViolated, NoSlotAvailable, SlotUnavailable

log = logging.getLogger("prolo.errors")
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5  # what a busy answer asks the client to wait before trying again


@dataclass(frozen=True)
class Code:
    statuses: tuple[int, ...]
    meaning: str


CODES: dict[str, Code] = {
    "body_too_deep": Code((400,), "the JSON body is nested too deeply to read"),
    "api_key_missing": Code((401,), "no API key was sent"),
    "api_key_unknown": Code((401,), "the API key is unknown, or revoked"),
    "api_key_revoked": Code((401,), "the API key of a change was revoked meanwhile (by any process)"),
    "role_forbidden": Code((403,), "the key's role may not do this"),
    "not_found": Code((404,), "an id, a path or a feed URL that names nothing (`entity`, `id`)"),
    "method_not_allowed": Code((405,), "the path does not take this method"),
    "conflict": Code((409,), "the change clashes with what is stored; `detail` says how"),
    "duplicate_mrn": Code((409,), "another patient has this MRN"),
    "slot_taken": Code((409,), "the time was booked by someone else meanwhile"),
    "no_slot": Code((409,), "no free slot for a session in its window (`session_number`, `window_start`, …)"),
    "slot_unavailable": Code((409,), "the chosen time is not free or outside hours (`reasons`)"),
    "min_interval": Code((409,), "too close to a neighbouring session (R4: `neighbour_number`, dates that do)"),
    "slot_held": Code((409,), "the time is held for a waitlist offer (`opening_id`, `hold_until`)"),
    "offer_taken": Code((409,), "someone else accepted the opening first; the booking is unchanged"),
    "offer_invalid": Code((409,), "the offered move is no longer what was offered; the entry waits on"),
    "waitlist_entry_exists": Code((409,), "the course has a waiting entry already (`entry_id`)"),
    "illegal_transition": Code((409,), "the session's state does not allow this (`current_status`, `action`)"),
    "invalid_cursor": Code((410, 422), "an audit feed cursor this database did not give out: start again"),
    "precondition_failed": Code((412,), "If-Match names an old ETag (`current_etag`), or the target has none"),
    "bad_signature": Code((403,), "an inbound SMS without its provider's valid signature (R29); nothing stored"),
    "body_too_large": Code((413,), "the body is larger than 1 MB (an inbound SMS: 16 KiB)"),
    "invalid_input": Code((422,), "a field is missing or not acceptable (`errors`: one per field)"),
    "nul_character": Code((422,), "a NUL character in a path, a query or a text"),
    "out_of_range": Code((422,), "a value the database or the calendar cannot hold"),
    "planning_defect": Code((500,), "a planned session overlapped a stored one: a defect, logged, nothing stored"),
    "internal_error": Code((500,), "an unexpected error, logged"),
    "busy": Code((503,), "the database stayed busy too long; try again after `Retry-After` seconds"),
}
# What an HTTP error raised without a code of its own (FastAPI's, Starlette's) means.
_BY_STATUS = {400: "body_too_deep", 401: "api_key_missing", 403: "role_forbidden", 404: "not_found"}
_BY_STATUS |= {405: "method_not_allowed", 413: "body_too_large", 422: "invalid_input"}


class Refused(StarletteHTTPException):
    """An HTTP-side refusal (no key, a role) with its code."""

    def __init__(self, status: int, detail: str, *, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.code = code


def problem(
    status: int,
    detail: str | None = None,
    *,
    code: str,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    assert status in CODES[code].statuses, (code, status)  # one table: a new code is added there first
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail
    # extra members never overwrite the standard ones (RFC 9457 §3.2)
    body.update({k: v for k, v in (extra or {}).items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _not_found(_: Request, exc: NotFound) -> JSONResponse:
    return problem(404, str(exc), code="not_found", extra={"entity": exc.entity, "id": exc.entity_id})


def _conflict(_: Request, exc: Conflict) -> JSONResponse:
    return problem(409, exc.detail, code=exc.code, extra=exc.extra)


def _precondition(_: Request, exc: PreconditionFailed) -> JSONResponse:
    # S6: the stale If-Match loses; the current ETag tells the client what it must read again. A target
    # without an ETag refuses If-Match the same way: a condition is never ignored.
    if exc.current_etag is None:
        return problem(412, str(exc), code="precondition_failed")
    response = problem(412, str(exc), code="precondition_failed", extra={"current_etag": exc.current_etag})
    response.headers["ETag"] = exc.current_etag
    return response


def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
    errors = [{"loc": [exc.where, exc.field], "msg": exc.message, "type": "value_error"}]
    return problem(422, str(exc), code="invalid_input", extra={"errors": errors})


def _revoked(request: Request, exc: KeyRevoked) -> JSONResponse:
    # S4: another process revoked the key; this one stops trusting it for reads too, from now on
    request.app.state.key_cache.forget(exc.key_id)
    response = problem(401, str(exc), code="api_key_revoked")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _invalid_cursor(_: Request, exc: InvalidCursor) -> JSONResponse:
    # S7: the follower branches on the code and starts again from the beginning
    if exc.malformed:
        errors = [{"loc": ["query", "after"], "msg": exc.detail, "type": "value_error"}]
        return problem(422, f"after: {exc.detail}", code="invalid_cursor", extra={"errors": errors})
    return problem(410, exc.detail, code="invalid_cursor")


def _no_slot(_: Request, exc: NoSlotAvailable) -> JSONResponse:
    # R6: name the session and the tolerance window that could not be met.
    return problem(
        409,
        f"no free slot for session {exc.session_number} between {exc.window_start} and {exc.window_end} "
        "(or in the 7 days after)",
        code="no_slot",
        title="No slot available",
        extra={
            "session_number": exc.session_number,
            "window_start": exc.window_start.isoformat(),
            "window_end": exc.window_end.isoformat(),
        },
    )


def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
    # R10: name the state the session is in.
    return problem(
        409, str(exc), code="illegal_transition", extra={"current_status": exc.current, "action": exc.action}
    )


def _slot_unavailable(_: Request, exc: SlotUnavailable) -> JSONResponse:
    reasons = ", ".join(r.replace("_", " ") for r in exc.reasons)
    return problem(
        409,
        f"session {exc.session_number} cannot go there: {reasons}",
        code="slot_unavailable",
        title="Slot unavailable",
        extra={"session_number": exc.session_number, "reasons": list(exc.reasons)},
    )


def _min_interval(_: Request, exc: MinIntervalViolated) -> JSONResponse:
    # R4: acute inflammation lasts about a week; say which neighbour and which date would do.
    bound = {"earliest_date": exc.earliest_date, "latest_date": exc.latest_date}
    extra: dict[str, Any] = {k: v.isoformat() for k, v in bound.items() if v is not None}
    return problem(
        409,
        f"session {exc.session_number} would be too close to session {exc.neighbour_number} (minimum interval, R4)",
        code="min_interval",
        title="Minimum interval",
        extra={"session_number": exc.session_number, "neighbour_number": exc.neighbour_number, **extra},
    )


def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    first = errors[0] if errors else None
    detail = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else "invalid request"
    return problem(422, detail, code="invalid_input", extra={"errors": errors})


def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = getattr(exc, "code", None) or _BY_STATUS.get(exc.status_code, "internal_error")
    response = problem(exc.status_code, exc.detail if isinstance(exc.detail, str) else None, code=code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


# PostgreSQL's exclusion_violation: the constraint that refuses overlapping active sessions (R11).
_EXCLUSION_VIOLATION = "23P01"


def integrity_problem(_: Request | None, exc: IntegrityError) -> JSONResponse:
    """A unique key raced for (two registrations of one MRN) is a conflict; an overlap is Prolo's own defect.

    Every writer that places a session locks the practitioner's row first (R11), so a
    racing booking waits, then plans around the winner. An overlap that still reaches
    the exclusion constraint was planned on a calendar that missed a stored session: no
    other user is to blame and a retry would not help, so it is a 500, logged as an error.
    """
    if getattr(exc.orig, "sqlstate", None) == _EXCLUSION_VIOLATION:
        diag = getattr(exc.orig, "diag", None)
        log.error(
            "a planned session overlapped a stored one (%s: %s); nothing was stored",
            getattr(diag, "constraint_name", None),
            getattr(diag, "message_detail", None),  # practitioner id and instants, nothing about a patient
        )
        return problem(
            500,
            "a session was planned over another active session of the same practitioner, so nothing was stored. "
            "This is a defect in Prolo, not a change by someone else; it has been logged",
            code="planning_defect",
            title="Planning defect",
        )
    log.info("integrity error answered as 409: %s", type(exc.orig).__name__)
    return problem(409, "the change conflicts with stored data (someone else changed it meanwhile)", code="conflict")


def _busy(detail: str) -> JSONResponse:
    response = problem(503, detail, code="busy")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _operational(_: Request, exc: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc.orig).__name__)
    return _busy("the database is busy or unreachable; try again")


def _no_turn(_: Request, exc: AdmissionTimeout) -> JSONResponse:
    log.warning("request turned away: %s", exc)
    return _busy(f"the service is busy: no turn at the database within {exc.waited_seconds:g} s; try again")


def _pool_timeout(_: Request, exc: PoolTimeout) -> JSONResponse:
    log.warning("no database connection free: %s", exc)
    return _busy("the service is busy: no database connection was free; try again")


def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
    # A safety net behind the schemas' bounds: a value the database or the calendar cannot hold is bad input.
    log.info("value out of range answered as 422: %s", type(getattr(exc, "orig", exc)).__name__)
    return problem(422, "a value is out of range for the database or the calendar", code="out_of_range")


def _statement(request: Request, exc: StatementError) -> JSONResponse:
    if isinstance(exc.orig, OverflowError | ValueError):  # raised while binding a parameter
        return _out_of_range(request, exc)
    return _unexpected(request, exc)


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # S7: the exception's message may quote patient data (a pydantic input, SQL parameters): frames and classes only
    log.error("unexpected error (%s)\n%s", type(exc).__name__, traceback_without_messages(exc))
    return problem(500, "internal error; it has been logged", code="internal_error")


def install_problem_handlers(app: FastAPI) -> None:
    handlers: dict[type[Exception], Any] = {
        NotFound: _not_found,
        Conflict: _conflict,
        InvalidInput: _invalid,
        InvalidCursor: _invalid_cursor,
        KeyRevoked: _revoked,
        PreconditionFailed: _precondition,
        NoSlotAvailable: _no_slot,
        SlotUnavailable: _slot_unavailable,
        MinIntervalViolated: _min_interval,
        IllegalTransition: _illegal,
        RequestValidationError: _validation,
        StarletteHTTPException: _http,
        IntegrityError: integrity_problem,
        OperationalError: _operational,
        AdmissionTimeout: _no_turn,
        PoolTimeout: _pool_timeout,
        DataError: _out_of_range,
        StatementError: _statement,
        OverflowError: _out_of_range,
        Exception: _unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
