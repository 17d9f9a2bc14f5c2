"""Who may post an inbound SMS (R29): the provider's signature, checked in constant time.

- ``prolo``: the outbound webhook's scheme (R22) the other way round, ``Prolo-Signature:
  sha256=<hex HMAC-SHA256 of the raw body>`` keyed with PROLO_SMS_WEBHOOK_SECRET, so a
  clinic's own gateway signs both directions with one secret.
- ``twilio``: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + each POST
  parameter's name and value, sorted by name)). The URL is PROLO_INBOUND_SMS_URL, the one
  configured at Twilio, never the request's own: a TLS proxy in front of Prolo changes the
  scheme, host and port the request arrives with. Twilio signs the URL as it was typed,
  which may or may not spell the default port, so both spellings are tried (as Twilio's
  own libraries do).
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from api.notify.sms import signature

_DEFAULT_PORTS = {"https": 443, "http": 80}


def prolo_signed(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the `Prolo-Signature` of `body`."""
    return header is not None and hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a form POST of `params` to `url`."""
    # sorted by name; a repeated name keeps its values in the order sent (stable sort), as Twilio's libraries do
    data = url + "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_signed(token: str, url: str, params: Iterable[tuple[str, str]], header: str | None) -> bool:
    """True when `header` signs `params` for `url`, with or without its scheme's default port spelled out."""
    if header is None:
        return False
    pairs = list(params)
    given = header.strip().encode()
    # every spelling is checked, so the time taken does not tell which one was close
    results = [hmac.compare_digest(twilio_signature(token, u, pairs).encode(), given) for u in _spellings(url)]
    return any(results)


def _spellings(url: str) -> list[str]:
    """`url` as configured, and with its default port added (none given) or removed (the default given)."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    userinfo, _, _ = parts.netloc.rpartition("@")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return [url]
    return [url, urlunsplit(other)]
