"""Posting patients' texts as an SMS provider would, signed (R29), for in-process and live-server tests."""

import itertools
import json
from typing import Any, Protocol
from urllib.parse import urlencode

from api.notify.signatures import twilio_signature
from api.notify.sms import signature

SECRET = "inbound-and-outbound-secret"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
PHONE = "+493012345678"
OTHER_PHONE = "+493012345679"
_ids = itertools.count(1)


class Poster(Protocol):
    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Any: ...


def prolo_payload(body: str, sender: str = PHONE, message_id: str | None = None) -> bytes:
    payload = {"message_id": message_id or f"m-{next(_ids)}", "from": sender, "to": "+493099999999", "body": body}
    return json.dumps(payload).encode()


def post_prolo(client: Poster, body: str, sender: str = PHONE, message_id: str | None = None) -> Any:
    """A text as the clinic's own gateway posts it: JSON, `Prolo-Signature`."""
    raw = prolo_payload(body, sender, message_id)
    headers = {"Content-Type": "application/json", "Prolo-Signature": signature(SECRET, raw)}
    return client.post("/v1/inbound/sms", content=raw, headers=headers)


def twilio_form(body: str, sender: str = PHONE, message_id: str | None = None) -> list[tuple[str, str]]:
    return [
        ("MessageSid", message_id or f"SM{next(_ids):032x}"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", sender),
        ("To", "+493099999999"),
        ("Body", body),
        ("NumMedia", "0"),
    ]


def post_twilio(client: Poster, url: str, form: list[tuple[str, str]], *, token: str = TWILIO_TOKEN) -> Any:
    """A text as Twilio posts it: form-encoded, `X-Twilio-Signature` over the URL configured at Twilio."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(token, url, form),
    }
    return client.post("/v1/inbound/sms", content=urlencode(form).encode(), headers=headers)
