"""Email over SMTP with the standard library's smtplib (R22).

Security, from the settings: port 465 means implicit TLS (SMTPS: TLS from the first
byte); otherwise, with PROLO_SMTP_STARTTLS (default true), STARTTLS whenever the
server offers it. A server that offers no STARTTLS still gets the message, but
never a password: with a username set the attempt fails (temporarily) instead of
sending credentials in clear. PROLO_SMTP_STARTTLS=false means plain SMTP (a local
relay or a development catcher such as Mailpit).

Replies map onto R20's retry rule: 5xx (recipient unknown, sender refused, bad
login) is permanent; 4xx, refused connections, timeouts and dropped connections
are temporary. One connection per message: simple, and nothing to go stale between
dispatch passes.
"""

import re
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum

from api.notify.log import log_failure
from api.notify.message import Delivered, DeliveryError, Message, redact

DEFAULT_SUBJECT = "Reminder"
DEFAULT_TIMEOUT_SECONDS = 10.0
SMTPS_PORT = 465
# RFC 5322 atext: what a Message-ID's left part may hold ('=' is kept aside as the escape of the others)
_ATEXT = "A-Za-z0-9!#$%&'*+\\-/?^_`{|}~"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
_SAFE_CHAR = re.compile(f"[{_ATEXT}]")
# Header lines may be 998 characters (RFC 5322 2.1.1). At the default 78 a long key would be
# folded into RFC 2047 encoded words, and a receiver matching the raw header would miss it.
_WIRE_POLICY = policy.default.clone(max_line_length=998)
# Quoted-printable lines are at most 76 characters (RFC 2045 6.7); the encoder takes the policy's length.
_BODY_POLICY = policy.default.clone(max_line_length=76)


class SmtpSecurity(StrEnum):
    starttls = "starttls"  # upgrade when the server offers it; never log in without it
    implicit = "implicit"  # SMTPS, port 465
    none = "none"


def message_id(key: str) -> str:
    """`<key@prolo>`: a valid msg-id, one per key, the same on every retry (R21).

    Keys that are no dot-atom (a ':' for instance) have the other characters written
    as `=XX` (UTF-8 bytes in hex), so distinct keys never share a Message-ID.
    """
    if _DOT_ATOM.fullmatch(key) and "=" not in key:
        return f"<{key}@prolo>"
    left = "".join(ch if _SAFE_CHAR.fullmatch(ch) else "".join(f"={b:02X}" for b in ch.encode()) for ch in key)
    return f"<{left}@prolo>"


def compose(message: Message, *, sender: str) -> EmailMessage:
    """The email for `message`; ValueError if a header would not be well formed (a line break in it, say)."""
    email = EmailMessage(policy=_BODY_POLICY)
    email["From"] = sender
    email["To"] = message.to or ""
    email["Subject"] = message.subject or DEFAULT_SUBJECT
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(message.idempotency_key)
    email["Prolo-Idempotency-Key"] = message.idempotency_key
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders stay quiet
    # quoted-printable: 7-bit safe, whether or not the server offers 8BITMIME; lines of 76 (RFC 2045)
    email.set_content(message.body, cte="quoted-printable")
    email.policy = _WIRE_POLICY  # only now: the body above is already encoded, in lines of 76
    return email


class SmtpChannel:
    """Sends each message over its own SMTP connection."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: SmtpSecurity = SmtpSecurity.starttls,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username or None
        self.password = password
        self.security = security
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: Message) -> Delivered:
        try:
            return self._deliver(message)
        except DeliveryError as error:
            log_failure(message, "email", error)
            raise

    def _deliver(self, message: Message) -> Delivered:
        if not message.to:
            raise DeliveryError("the message has no email address", permanent=True, error_class="NoRecipient")
        try:
            email = compose(message, sender=self.sender)
        except ValueError as error:
            detail = f"not a valid email: {redact(str(error), message)}"
            raise DeliveryError(detail, permanent=True, error_class=type(error).__name__) from None
        try:
            smtp = self._connect()
        except OSError as error:  # smtplib's errors are OSErrors too
            raise _classify(error, message) from None
        try:
            self._secure_and_log_in(smtp)
            refused = smtp.send_message(email, to_addrs=[message.to])
        except OSError as error:
            raise _classify(error, message) from None
        except ValueError as error:  # a username or password smtplib cannot encode: only the class, not the text
            detail = f"the SMTP settings cannot be used: {type(error).__name__}"
            raise DeliveryError(detail, permanent=True, error_class=type(error).__name__) from None
        finally:
            _close(smtp)
        if refused:  # only some recipients refused; with one recipient this cannot happen, but be sure
            raise _classify(smtplib.SMTPRecipientsRefused(refused), message)
        return Delivered(provider_id=email["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        if self.security is SmtpSecurity.implicit:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _secure_and_log_in(self, smtp: smtplib.SMTP) -> None:
        if self.security is SmtpSecurity.starttls:
            smtp.ehlo_or_helo_if_needed()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            elif self.username:
                detail = "the server offers no STARTTLS; the password is not sent in clear"
                raise DeliveryError(detail, permanent=False, error_class="StartTlsUnavailable")
        if self.username:
            smtp.login(self.username, self.password or "")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _classify(error: OSError, message: Message) -> DeliveryError:
    """R20's split: 5xx replies are permanent; 4xx replies and network trouble are temporary."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        permanent = bool(replies) and all(500 <= code < 600 for code, _ in replies)
        text = "; ".join(f"{code} {_text(reply)}" for code, reply in replies)
        return DeliveryError(redact(f"recipient refused: {text}", message), permanent=permanent, error_class=name)
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        detail = redact(f"SMTP {code} {_text(error.smtp_error)}", message)
        return DeliveryError(detail, permanent=500 <= code < 600, error_class=name)
    if isinstance(error, smtplib.SMTPNotSupportedError):  # no AUTH, or an international address without SMTPUTF8
        return DeliveryError(f"the server lacks an extension: {error}", permanent=True, error_class=name)
    return DeliveryError(redact(f"{name}: {error}", message), permanent=False, error_class=name)


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a failure here changes nothing about the message (it was sent or it was not)."""
    try:
        smtp.quit()
    except OSError:
        pass
    finally:
        smtp.close()
