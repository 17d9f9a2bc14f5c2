"""SMS through the provider's webhook: a signed JSON POST (R22), with urllib from the standard library.

Body: `{reminder_id, idempotency_key, to, body, kind}` as UTF-8 JSON. Headers:
`Idempotency-Key` (the same on every retry: the provider drops duplicates, R21) and
`Prolo-Signature: sha256=<hex HMAC-SHA256 of the raw body bytes>`, keyed with
PROLO_SMS_WEBHOOK_SECRET. Without a secret the channel refuses to exist: an
unsigned webhook lets anyone who finds the URL send texts in the clinic's name, so
it is a misconfiguration, not a mode.

Answers: 2xx sent (the provider's reference from `id` or `message_id`); 429, 5xx,
timeouts and connection errors are temporary; other 4xx permanent. Redirects are
not followed (urllib would turn the POST into a GET): a 3xx is permanent, fix the URL.
The standard proxy variables (HTTPS_PROXY, NO_PROXY) apply, as for any urllib client.
"""

import hashlib
import hmac
import http.client
import json
import ssl
import urllib.request
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from api.notify.log import log_failure
from api.notify.message import Delivered, DeliveryError, Message, redact

DEFAULT_TIMEOUT_SECONDS = 10.0
ANSWER_LIMIT = 64 * 1024
USER_AGENT = "prolo-reminders/1"


class ChannelConfigError(ValueError):
    """A channel cannot be built from these settings; the message says which setting to fix."""


def signature(secret: str, body: bytes) -> str:
    """The `Prolo-Signature` value for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx then surfaces as an HTTPError


class WebhookSmsChannel:
    """POSTs each message to the SMS provider's webhook."""

    def __init__(
        self,
        *,
        url: str,
        secret: str | None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # the URL itself is not repeated: it may carry a token
            raise ChannelConfigError(f"PROLO_SMS_WEBHOOK_URL must be an http(s) URL with a host, not {parts.scheme!r}")
        if not secret:
            raise ChannelConfigError(
                "PROLO_SMS_WEBHOOK_URL is set but PROLO_SMS_WEBHOOK_SECRET is not: "
                "SMS webhooks are always signed (Prolo-Signature); set a shared secret"
            )
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirects(), urllib.request.HTTPSHandler(context=ssl_context))

    def send(self, message: Message) -> Delivered:
        try:
            return self._deliver(message)
        except DeliveryError as error:
            log_failure(message, "sms", error)
            raise

    def _request(self, message: Message) -> urllib.request.Request:
        """The signed POST for `message`."""
        payload = {
            "reminder_id": message.reminder_id,
            "idempotency_key": message.idempotency_key,
            "to": message.to,
            "body": message.body,
            "kind": message.kind,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "Prolo-Signature": signature(self.secret, body),
            "User-Agent": USER_AGENT,
        }
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def _deliver(self, message: Message) -> Delivered:
        if not message.to:
            raise DeliveryError("the message has no phone number", permanent=True, error_class="NoRecipient")
        try:
            with self.opener.open(self._request(message), timeout=self.timeout) as answer:
                return Delivered(provider_id=_provider_id(answer.read(ANSWER_LIMIT)))
        except HTTPError as error:
            excerpt = _excerpt(error, message)
            status = error.code
            permanent = not (status == 429 or status >= 500)
            detail = f"webhook answered HTTP {status}" + (f": {excerpt}" if excerpt else "")
            raise DeliveryError(detail, permanent=permanent, error_class=f"HTTP {status}") from None
        except (OSError, http.client.HTTPException) as error:  # refused, timed out, reset, TLS, bad answer
            cause = error.reason if isinstance(error, URLError) and isinstance(error.reason, BaseException) else error
            name = type(cause).__name__
            detail = redact(f"webhook unreachable: {name}: {cause}", message)
            raise DeliveryError(detail, permanent=False, error_class=name) from None


def _excerpt(error: HTTPError, message: Message) -> str:
    """The start of an error answer, for `detail`; empty if even that cannot be read in time."""
    try:
        with error:
            answer = error.read(ANSWER_LIMIT)
    except (OSError, http.client.HTTPException):
        return ""
    return redact(answer.decode("utf-8", "replace"), message)[:200]


def _provider_id(answer: bytes) -> str | None:
    """The provider's reference: `id` or `message_id` of a JSON object answer, if there is one."""
    try:
        data = json.loads(answer)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly nested
        return None
    if not isinstance(data, dict):
        return None
    for name in ("id", "message_id"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None
