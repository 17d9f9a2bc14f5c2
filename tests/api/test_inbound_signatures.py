"""R29: who may post a patient's text: Twilio's signature over the configured URL, or Prolo's HMAC."""

import hashlib
import hmac

import pytest

from api.notify.signatures import prolo_signed, twilio_signature, twilio_signed

# Twilio's published test vector (twilio.com/docs/usage/security, and its libraries' tests)
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_published_vector_passes() -> None:
    assert twilio_signature(TOKEN, URL, PARAMS) == EXPECTED
    assert twilio_signed(TOKEN, URL, PARAMS, EXPECTED)
    assert twilio_signed(TOKEN, URL, list(reversed(PARAMS)), EXPECTED)  # the order sent does not matter


@pytest.mark.parametrize(
    ("url", "params", "header"),
    [
        (URL, [*PARAMS[:2], ("Digits", "1235"), *PARAMS[3:]], EXPECTED),  # a changed parameter
        (URL, [*PARAMS, ("Body", "STOP")], EXPECTED),  # an added one
        (URL, PARAMS[1:], EXPECTED),  # a dropped one
        ("https://mycompany.com/myapp.php?foo=1&bar=3", PARAMS, EXPECTED),  # a changed URL
        ("http://mycompany.com/myapp.php?foo=1&bar=2", PARAMS, EXPECTED),  # another scheme
        ("https://mycompany.com:8443/myapp.php?foo=1&bar=2", PARAMS, EXPECTED),  # another port
        ("https://mycompany.com:80/myapp.php?foo=1&bar=2", PARAMS, EXPECTED),  # http's port on https
        ("https://evil.example/myapp.php?foo=1&bar=2", PARAMS, EXPECTED),  # another host
        (URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),  # cut short
        (URL, PARAMS, ""),
        (URL, PARAMS, None),  # no header
    ],
)
def test_anything_changed_fails(url: str, params: list[tuple[str, str]], header: str | None) -> None:
    assert not twilio_signed(TOKEN, url, params, header)


def test_another_token_fails() -> None:
    assert not twilio_signed("54321", URL, PARAMS, EXPECTED)


@pytest.mark.parametrize(
    ("configured", "signed_for"),
    [
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "https://mycompany.com:443/myapp.php?foo=1&bar=2"),
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "https://mycompany.com/myapp.php?foo=1&bar=2"),
        ("http://clinic.example/sms", "http://clinic.example:80/sms"),
        ("http://clinic.example:80/sms", "http://clinic.example/sms"),
    ],
)
def test_the_default_port_spelled_or_not_passes(configured: str, signed_for: str) -> None:
    header = twilio_signature(TOKEN, signed_for, PARAMS)
    assert twilio_signed(TOKEN, configured, PARAMS, header)


def test_prolo_signature_is_the_outbound_webhooks_scheme() -> None:
    body = b'{"message_id":"m1","from":"+14155550101","body":"C"}'
    header = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert prolo_signed("s3cret", body, header)
    assert not prolo_signed("s3cret", body + b" ", header)
    assert not prolo_signed("other", body, header)
    assert not prolo_signed("s3cret", body, header.replace("sha256=", "sha1="))
    assert not prolo_signed("s3cret", body, None)


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forger learns nothing from how long a refusal takes: every comparison goes through
    hmac.compare_digest (never `==`, which stops at the first wrong character), and Twilio's check compares
    every spelling of the URL even when the first one matched."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("api.notify.signatures.hmac.compare_digest", spy)
    assert twilio_signed(TOKEN, URL, PARAMS, EXPECTED)
    assert len(compared) == 2 and compared[0] == (EXPECTED.encode(), EXPECTED.encode())
    compared.clear()
    assert not twilio_signed(TOKEN, URL, PARAMS, EXPECTED[:-1] + "A")
    assert len(compared) == 2
    compared.clear()
    body = b"{}"
    assert not prolo_signed("s3cret", body, "sha256=" + "0" * 64)
    assert len(compared) == 1
