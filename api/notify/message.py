"""What the dispatcher hands a channel, what it gets back, and the one error a channel raises (R20–R22).

    DeliveryError          the message was not delivered
      .permanent = True    retrying cannot help (recipient refused, 4xx webhook answer): the reminder fails now
      .permanent = False   it may go through later (server down, timeout, 4xx SMTP reply, 429, 5xx): retry

`detail` is for the reminder's `last_error` (staff read it through the API); it may
quote the server's answer, so it never goes into a log line (S7). `error_class`
names the cause without any content and is what logs may carry.
"""

from dataclasses import dataclass, field
from typing import Protocol

DETAIL_LIMIT = 300


@dataclass(frozen=True)
class Message:
    """One reminder, rendered: the text is final, the channel only carries it.

    `to`, `subject` and `body` stay out of `repr()`, so a logged or traced Message
    shows no contact data or patient text (S7).
    """

    reminder_id: str
    idempotency_key: str
    kind: str
    channel: str  # "email" | "sms" | "log"
    to: str | None = field(repr=False)
    subject: str | None = field(repr=False)
    body: str = field(repr=False)

    def __post_init__(self) -> None:
        # the key names the message at every receiver (Message-ID, Idempotency-Key): R21
        if not self.idempotency_key.strip():
            raise ValueError("a message needs a non-empty idempotency key")


@dataclass(frozen=True)
class Delivered:
    """Accepted by the provider; `provider_id` is its reference, if it gave one."""

    provider_id: str | None


class DeliveryError(Exception):
    """Not delivered: `permanent` says whether a retry could help (R20)."""

    def __init__(self, detail: str, *, permanent: bool, error_class: str) -> None:
        super().__init__(detail)
        self.detail = detail[:DETAIL_LIMIT]
        self.permanent = permanent
        self.error_class = error_class

    def __str__(self) -> str:
        return self.detail


class Channel(Protocol):
    """Delivers one message or raises DeliveryError. Blocking; safe to share between threads.

    Any other exception is a bug in the caller or the channel; a dispatcher should
    treat it as a temporary failure.
    """

    def send(self, message: Message) -> Delivered: ...


def redact(text: str, message: Message) -> str:
    """`text` (a server's answer) without the message's recipient or body, squeezed onto one line."""
    for secret, placeholder in ((message.to, "<recipient>"), (message.body, "<body>")):
        if secret:
            text = text.replace(secret, placeholder)
    return " ".join(text.split())[:DETAIL_LIMIT]
