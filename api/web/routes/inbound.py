"""Patients' SMS replies: the provider's webhook (R29, R30), the texts staff read (R34), opt-outs (R33)."""

import json
import uuid
from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ValidationError

from api.notify.signatures import prolo_signed, twilio_signed
from api.services import inbound_sms, sms_opt_outs
from api.settings import Settings
from api.store import actors
from api.web.deps import STAFF, requires
from api.web.etag import refuse_unchecked_if_match
from api.web.problems import Refused
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import InboundMessageRead, InboundSms, Page, SmsOptOutCreate, SmsOptOutRead
from models.base import DATE_BOUNDS, SingleLine
from models.base import new_id as new_message_id
from scheduling.replies import Intent, Outcome

MAX_INBOUND_BYTES = 16 * 1024  # R29: a text is at most a few kB; more is not a text
TWILIO_EMPTY = "<Response/>"  # R30: Prolo never answers inline (the dispatcher sends any answer)

webhook = APIRouter(tags=["inbound SMS"])
router = APIRouter(tags=["inbound SMS"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))])


class InboundAnswer(BaseModel):
    """What Prolo made of a text (the `prolo` provider's answer)."""

    id: uuid.UUID
    intent: Intent
    outcome: Outcome


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL; the text is kept, not refused (R30)


def _twilio(settings: Settings, request: Request, body: bytes) -> inbound_sms.Received:
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Refused(403, "the signature does not match the body", code="bad_signature") from None
    token, url = settings.twilio_auth_token or "", settings.inbound_sms_url or ""
    if not twilio_signed(token, url, params, request.headers.get("x-twilio-signature")):
        detail = "the X-Twilio-Signature does not match PROLO_INBOUND_SMS_URL and the body"
        raise Refused(403, detail, code="bad_signature")
    fields = dict(params)
    if not fields.get("MessageSid") or not fields.get("From"):
        raise Refused(422, "MessageSid and From are required", code="invalid_input")
    return inbound_sms.Received(
        provider="twilio",
        message_id=_clean(fields["MessageSid"])[:200],
        from_number=_clean(fields["From"])[:40],
        to_number=_clean(fields.get("To", ""))[:40] or None,
        body=_clean(fields.get("Body", "")),
        received_at=request.app.state.clock(),
    )


def _prolo(settings: Settings, request: Request, body: bytes) -> inbound_sms.Received:
    if not prolo_signed(settings.sms_webhook_secret or "", body, request.headers.get("prolo-signature")):
        raise Refused(403, "the Prolo-Signature does not match the body", code="bad_signature")
    try:
        sms = InboundSms.model_validate_json(body)
    except (ValidationError, json.JSONDecodeError):
        # which field is wrong, never its value: the value may be a patient's text or number
        raise Refused(422, "expected {message_id, from, to, body, received_at}", code="invalid_input") from None
    return inbound_sms.Received(
        provider="prolo",
        message_id=sms.message_id,
        from_number=sms.from_,
        to_number=sms.to,
        body=sms.body,
        received_at=sms.received_at or request.app.state.clock(),
    )


@webhook.post(
    "/v1/inbound/sms",
    response_model=InboundAnswer,
    summary="A patient's text, posted by the SMS provider",
    responses={403: PROBLEMS[403], 413: PROBLEMS[413], 503: PROBLEMS[503]},
)
async def receive_sms(request: Request, tx: TransactionDep) -> Response:
    """The SMS provider posts each text a patient sends (no API key: the provider's signature).
    `prolo`: JSON `{message_id, from, to, body, received_at}` with `Prolo-Signature`; `twilio`: Twilio's
    form, with `X-Twilio-Signature` over `PROLO_INBOUND_SMS_URL`. A retry of the same message changes
    nothing. Any answer to the patient goes later, through the dispatcher."""
    refuse_unchecked_if_match(request)  # S6: a text has no ETag to check it against
    settings: Settings = request.app.state.settings
    body = await request.body()
    if len(body) > MAX_INBOUND_BYTES:
        raise Refused(413, f"the body is larger than {MAX_INBOUND_BYTES} bytes", code="body_too_large")
    message = (_twilio if settings.inbound_sms_provider == "twilio" else _prolo)(settings, request, body)
    message_id = new_message_id()
    twilio = message.provider == "twilio"
    return await tx.write(
        lambda uow: inbound_sms.receive(
            uow=uow,
            message=message,
            message_id=message_id,
            keyword_replies=settings.prolo_answers_keywords,
            now=tx.now,
        ),
        actor=actors.patient_sms(message_id),
        render=(lambda _: TWILIO_EMPTY) if twilio else None,  # Twilio's answer; prolo's: InboundAnswer
        media_type="text/xml" if twilio else "application/json",
    )


@router.get("/v1/inbound-messages", response_model=Page[InboundMessageRead], summary="Texts patients sent")
async def list_inbound_messages(
    tx: TransactionDep,
    page: PageDep,
    patient_id: uuid.UUID | None = None,
    intent: Intent | None = None,
    from_date: Annotated[date | None, Query(alias="from", **DATE_BOUNDS, description="First clinic-local date")] = None,
    to_date: Annotated[
        date | None, Query(alias="to", **DATE_BOUNDS, description="Last clinic-local date, inclusive")
    ] = None,
) -> Response:
    """Texts received from patients, newest first, with what Prolo understood (`intent`) and did (`outcome`).
    Staff items about them are in the outbox (`GET /v1/reminders?kind=reply_review&status=ready`)."""
    return await tx.read(
        lambda uow: inbound_sms.list_inbound(
            uow=uow,
            patient_id=patient_id,
            intent=intent,
            from_date=from_date,
            to_date=to_date,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/v1/inbound-messages/{inbound_id}", response_model=InboundMessageRead, summary="One text")
async def get_inbound_message(inbound_id: uuid.UUID, tx: TransactionDep) -> Response:
    """One text a patient sent, with what Prolo understood and did."""
    return await tx.read(lambda uow: inbound_sms.get_inbound(uow=uow, inbound_id=inbound_id), etag=True)


@router.get("/v1/sms-opt-outs", response_model=Page[SmsOptOutRead], summary="Numbers that want no texts")
async def list_sms_opt_outs(tx: TransactionDep, page: PageDep) -> Response:
    """Every number that asked for no more texts, newest first: by a keyword (STOP), by words that may mean
    it (`possible_opt_out`: check and clear if not), or as staff recorded it."""
    return await tx.read(lambda uow: sms_opt_outs.list_opt_outs(uow=uow, limit=page.limit, offset=page.offset))


@router.post("/v1/sms-opt-outs", response_model=SmsOptOutRead, status_code=201, summary="Record an opt-out")
async def record_sms_opt_out(request: SmsOptOutCreate, tx: TransactionDep) -> Response:
    """A patient asked for no more texts by phone or at the desk: no SMS goes to the number from now on, in
    this transaction (pending ones are skipped `sms_opted_out`)."""
    return await tx.write(lambda uow: sms_opt_outs.record_opt_out(uow=uow, request=request, now=tx.now))


@router.delete("/v1/sms-opt-outs/{number}", status_code=204, summary="Clear an opt-out")
async def clear_sms_opt_out(
    number: str,
    tx: TransactionDep,
    source_note: Annotated[
        SingleLine, Query(min_length=1, max_length=500, description="Who asked for texts again, when and how")
    ],
) -> Response:
    """Texts to this number go again (the patient asked, or a `possible_opt_out` was none); reminders still to
    come are planned again, those whose moment passed stay skipped. `source_note` is required."""
    return await tx.write(
        lambda uow: sms_opt_outs.clear_opt_out(uow=uow, number=number, source_note=source_note, now=tx.now)
    )


def inbound_config_error(settings: Settings) -> str | None:
    """What stops the inbound endpoint from checking signatures, or None (checked at start-up)."""
    provider = settings.inbound_sms_provider
    if provider == "twilio" and not (settings.twilio_auth_token and settings.inbound_sms_url):
        return "PROLO_INBOUND_SMS_PROVIDER=twilio needs PROLO_TWILIO_AUTH_TOKEN and PROLO_INBOUND_SMS_URL"
    if provider == "prolo" and not settings.sms_webhook_secret:
        return "PROLO_INBOUND_SMS_PROVIDER=prolo needs PROLO_SMS_WEBHOOK_SECRET (the same secret signs both ways)"
    return None
