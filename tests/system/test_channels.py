"""Delivery channels against real local servers (R20–R22, S7): aiosmtpd for email, an http.server webhook for SMS.

Nothing of ours is mocked; the receivers in `receivers.py` check what arrives
(headers, the HMAC over the raw body) the way a provider would.
"""

import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.notify import (
    ChannelConfigError,
    Delivered,
    DeliveryError,
    LogChannel,
    Message,
    SmtpChannel,
    SmtpSecurity,
    WebhookSmsChannel,
    channels_from,
)
from api.notify.smtp import message_id
from api.settings import Settings
from tests.system.conftest import free_port
from tests.system.receivers import HOST, Reply, TlsFiles, self_signed_tls, smtp_receiver, webhook_receiver

pytestmark = pytest.mark.system

SENDER = "Prolo Clinic <reminders@clinic.test>"
PATIENT_EMAIL = "anna.keller@patient.test"
PATIENT_PHONE = "+4915112345678"
SUBJECT = "Ihr Termin morgen um 09:00"
BODY = "Guten Tag Frau Keller,\nIhre Sitzung 2 ist morgen um 09:00.\nGrüße, Ihre Praxis"
SECRET = "webhook-secret-for-tests"
# a 4xx must fail fast in a test, never wait the production 10 s
FAST = 2.0


def make_message(channel: str = "email", *, key: str | None = None, **changes: str | None) -> Message:
    to = PATIENT_PHONE if channel == "sms" else PATIENT_EMAIL
    fields: dict[str, str | None] = {
        "reminder_id": str(uuid.uuid4()),
        "idempotency_key": key or f"reminder-{uuid.uuid4()}",
        "kind": "appointment",
        "channel": channel,
        "to": to,
        "subject": SUBJECT if channel == "email" else None,
        "body": BODY,
        **changes,
    }
    return Message(**fields)  # type: ignore[arg-type]


def smtp_channel(port: int, **options: object) -> SmtpChannel:
    settings: dict[str, object] = {"security": SmtpSecurity.none, "timeout": FAST, **options}
    return SmtpChannel(host=HOST, port=port, sender=SENDER, **settings)  # type: ignore[arg-type]


def closed_port() -> int:
    return free_port()  # nobody listens there now


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook channel honours HTTP(S)_PROXY like any urllib client; the receivers here are local."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return self_signed_tls(tmp_path)


# --- email -------------------------------------------------------------------------------------------


def test_email_arrives_with_sender_recipient_subject_text_and_the_key() -> None:
    message = make_message(key="reminder-0001")
    with smtp_receiver() as smtp:
        delivered = smtp_channel(smtp.port).send(message)
    [mail] = smtp.mails
    assert mail.mail_from == "reminders@clinic.test"
    assert mail.rcpt_tos == (PATIENT_EMAIL,)
    assert mail.message["From"] == SENDER
    assert mail.message["To"] == PATIENT_EMAIL
    assert mail.message["Subject"] == SUBJECT
    assert mail.message.get_content().replace("\r\n", "\n").rstrip("\n") == BODY
    assert mail.message["Message-ID"] == "<reminder-0001@prolo>"
    assert mail.message["Prolo-Idempotency-Key"] == "reminder-0001"
    assert mail.message["Date"] is not None
    assert delivered == Delivered(provider_id="<reminder-0001@prolo>")


def test_a_long_key_stays_verbatim_on_the_wire_and_body_lines_stay_short() -> None:
    key = f"appointment-{uuid.uuid4()}-{uuid.uuid4()}-2880"  # 99 characters: past the usual 78 of a header line
    with smtp_receiver() as smtp:
        smtp_channel(smtp.port).send(make_message(key=key, body="Bitte " * 100))
    [mail] = smtp.mails
    assert f"\r\nProlo-Idempotency-Key: {key}\r\n".encode() in mail.raw  # not folded into RFC 2047 encoded words
    assert f"\r\nMessage-ID: <{key}@prolo>\r\n".encode() in mail.raw
    body = mail.raw.partition(b"\r\n\r\n")[2]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable (RFC 2045)


MSG_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*@prolo>")


def test_message_id_is_a_valid_msg_id_and_distinct_for_every_key() -> None:
    keys = ["r-1", "a.b", "appointment:3f2a:2880", "a..b", ".a", "x=3A", "x:", "schlüssel", "a b"]
    ids = [message_id(key) for key in keys]
    assert all(MSG_ID.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == len(keys)
    assert ids[:2] == ["<r-1@prolo>", "<a.b@prolo>"]  # plain keys are kept as they are


def test_recipient_refused_with_550_is_permanent_and_names_the_reply() -> None:
    with smtp_receiver() as smtp:
        smtp.refuse(PATIENT_EMAIL, "550 5.1.1 <anna.keller@patient.test>: No such user")
        with pytest.raises(DeliveryError) as caught:
            smtp_channel(smtp.port).send(make_message())
    assert caught.value.permanent
    assert "550" in caught.value.detail
    assert PATIENT_EMAIL not in caught.value.detail  # the server's echo of the address is redacted
    assert smtp.mails == []


def test_recipient_refused_with_450_is_temporary() -> None:
    with smtp_receiver() as smtp:
        smtp.refuse(PATIENT_EMAIL, "450 4.2.1 Mailbox busy, try later")
        with pytest.raises(DeliveryError) as caught:
            smtp_channel(smtp.port).send(make_message())
    assert not caught.value.permanent
    assert "450" in caught.value.detail


def test_nothing_listening_is_temporary() -> None:
    with pytest.raises(DeliveryError) as caught:
        smtp_channel(closed_port()).send(make_message())
    assert not caught.value.permanent
    assert caught.value.error_class == "ConnectionRefusedError"


def test_a_server_that_never_greets_times_out_as_temporary() -> None:
    with socket.create_server((HOST, 0)) as silent:  # accepts connections in its backlog, says nothing
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            smtp_channel(silent.getsockname()[1], timeout=0.3).send(make_message())
    assert not caught.value.permanent
    assert time.monotonic() - started < FAST


def test_smtp_down_then_back_is_retried_and_delivered_exactly_once() -> None:
    port = free_port()
    channel = smtp_channel(port)
    message = make_message()
    with pytest.raises(DeliveryError) as caught:
        channel.send(message)
    assert not caught.value.permanent  # R20: retried later
    with smtp_receiver(port=port) as smtp:
        channel.send(message)
    assert [mail.message["Prolo-Idempotency-Key"] for mail in smtp.mails] == [message.idempotency_key]


def test_starttls_then_login_then_send(tls: TlsFiles) -> None:
    with smtp_receiver(tls=tls, require_starttls=True, credentials=("clinic", "s3cret")) as smtp:
        channel = smtp_channel(
            smtp.port,
            security=SmtpSecurity.starttls,
            username="clinic",
            password="s3cret",
            ssl_context=tls.client_context(),
        )
        channel.send(make_message())
    [mail] = smtp.mails
    assert mail.tls
    assert smtp.logins == ["clinic"]


def test_wrong_password_is_permanent(tls: TlsFiles) -> None:
    with smtp_receiver(tls=tls, credentials=("clinic", "s3cret")) as smtp:
        channel = smtp_channel(
            smtp.port,
            security=SmtpSecurity.starttls,
            username="clinic",
            password="wrong",
            ssl_context=tls.client_context(),
        )
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_message())
    assert caught.value.permanent
    assert "535" in caught.value.detail
    assert smtp.mails == []


def test_starttls_is_verified_against_trusted_certificates(tls: TlsFiles) -> None:
    # the system's trust store does not know the test certificate: a verifying client must refuse it
    with smtp_receiver(tls=tls) as smtp, pytest.raises(DeliveryError) as caught:
        smtp_channel(smtp.port, security=SmtpSecurity.starttls).send(make_message())
    assert not caught.value.permanent
    assert caught.value.error_class == "SSLCertVerificationError"
    assert smtp.mails == []


def test_no_password_in_clear_when_the_server_offers_no_starttls() -> None:
    with smtp_receiver(credentials=("clinic", "s3cret")) as smtp:
        channel = smtp_channel(smtp.port, security=SmtpSecurity.starttls, username="clinic", password="s3cret")
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_message())
        assert not caught.value.permanent
        assert caught.value.error_class == "StartTlsUnavailable"
        assert smtp.logins == []
        # without credentials, opportunistic STARTTLS still delivers to such a server
        smtp_channel(smtp.port, security=SmtpSecurity.starttls).send(make_message())
    assert [mail.tls for mail in smtp.mails] == [False]


def test_a_password_smtplib_cannot_encode_is_permanent_and_not_quoted() -> None:
    with smtp_receiver(credentials=("clinic", "pässwort")) as smtp, pytest.raises(DeliveryError) as caught:
        smtp_channel(smtp.port, username="clinic", password="pässwort").send(make_message())
    assert caught.value.permanent
    assert "ä" not in caught.value.detail
    assert smtp.mails == []


def test_implicit_tls_as_on_port_465(tls: TlsFiles) -> None:
    with smtp_receiver(tls=tls, implicit_tls=True) as smtp:
        smtp_channel(smtp.port, security=SmtpSecurity.implicit, ssl_context=tls.client_context()).send(make_message())
    [mail] = smtp.mails
    assert mail.tls


def test_a_line_break_in_a_header_is_permanent_and_sends_nothing() -> None:
    with smtp_receiver() as smtp, pytest.raises(DeliveryError) as caught:
        smtp_channel(smtp.port).send(make_message(subject="Termin\r\nBcc: everyone@example.test"))
    assert caught.value.permanent
    assert smtp.mails == []


# --- SMS webhook -------------------------------------------------------------------------------------


def sms_channel(url: str, *, secret: str = SECRET, timeout: float = FAST) -> WebhookSmsChannel:
    return WebhookSmsChannel(url=url, secret=secret, timeout=timeout)


def test_sms_is_a_signed_json_post_with_the_idempotency_key() -> None:
    message = make_message("sms", key="reminder-0002")
    with webhook_receiver(SECRET) as hook:
        delivered = sms_channel(hook.url).send(message)
    [request] = hook.requests
    assert request.signature_ok
    assert request.headers["Idempotency-Key"] == "reminder-0002"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "reminder_id": message.reminder_id,
        "idempotency_key": "reminder-0002",
        "to": PATIENT_PHONE,
        "body": BODY,
        "kind": "appointment",
    }
    assert list(hook.deliveries) == ["reminder-0002"]
    assert delivered == Delivered(provider_id="sms-1")


@pytest.mark.parametrize(
    ("answer", "provider_id"),
    [({"id": "SM123"}, "SM123"), ({"message_id": 42}, "42"), (b"queued", None), ([], None), ({"id": None}, None)],
)
def test_provider_id_comes_from_the_answer_when_there_is_one(answer: object, provider_id: str | None) -> None:
    with webhook_receiver(SECRET, replies=(Reply(202, answer),)) as hook:  # type: ignore[arg-type]
        assert sms_channel(hook.url).send(make_message("sms")).provider_id == provider_id


def test_500_then_200_is_retried_then_delivered_once() -> None:
    message = make_message("sms")
    with webhook_receiver(SECRET, replies=(Reply(500, {"error": "upstream down"}),)) as hook:
        channel = sms_channel(hook.url)
        with pytest.raises(DeliveryError) as caught:
            channel.send(message)
        assert not caught.value.permanent
        assert "500" in caught.value.detail
        channel.send(message)
    assert [request.status for request in hook.requests] == [500, 200]
    assert len(hook.deliveries[message.idempotency_key]) == 1


def test_400_is_permanent_with_the_status_and_an_excerpt_of_the_answer() -> None:
    answer = {"error": "invalid number", "to": PATIENT_PHONE}
    with webhook_receiver(SECRET, replies=(Reply(400, answer),)) as hook, pytest.raises(DeliveryError) as caught:
        sms_channel(hook.url).send(make_message("sms"))
    assert caught.value.permanent
    assert "HTTP 400" in caught.value.detail
    assert "invalid number" in caught.value.detail
    assert PATIENT_PHONE not in caught.value.detail
    assert hook.deliveries == {}


def test_429_is_temporary() -> None:
    replies = (Reply(429, headers={"Retry-After": "30"}),)
    with webhook_receiver(SECRET, replies=replies) as hook, pytest.raises(DeliveryError) as caught:
        sms_channel(hook.url).send(make_message("sms"))
    assert not caught.value.permanent
    assert "429" in caught.value.detail


def test_an_answer_slower_than_the_timeout_is_temporary() -> None:
    with webhook_receiver(SECRET, replies=(Reply(200, delay=10.0),)) as hook:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            sms_channel(hook.url, timeout=0.3).send(make_message("sms"))
        waited = time.monotonic() - started
    assert not caught.value.permanent
    assert caught.value.error_class == "TimeoutError"
    assert waited < FAST


def test_nothing_listening_at_the_webhook_is_temporary() -> None:
    with pytest.raises(DeliveryError) as caught:
        sms_channel(f"http://{HOST}:{closed_port()}/sms").send(make_message("sms"))
    assert not caught.value.permanent
    assert caught.value.error_class == "ConnectionRefusedError"


def test_the_receiver_rejects_a_signature_made_with_another_secret() -> None:
    with webhook_receiver("the-providers-secret") as hook, pytest.raises(DeliveryError) as caught:
        sms_channel(hook.url, secret=SECRET).send(make_message("sms"))
    [request] = hook.requests
    assert not request.signature_ok
    assert request.headers["Prolo-Signature"].startswith("sha256=")
    assert caught.value.permanent
    assert "HTTP 401" in caught.value.detail
    assert hook.deliveries == {}


def test_a_redirect_is_not_followed_and_is_permanent() -> None:
    replies = (Reply(302, headers={"Location": "/elsewhere"}),)
    with webhook_receiver(SECRET, replies=replies) as hook, pytest.raises(DeliveryError) as caught:
        sms_channel(hook.url).send(make_message("sms"))
    assert caught.value.permanent
    assert [request.status for request in hook.requests] == [302]  # no second request, no GET


def test_a_webhook_without_a_secret_is_refused() -> None:
    settings = Settings(_env_file=None, sms_webhook_url="https://sms.example.test/hook", sms_webhook_secret=None)
    with pytest.raises(ChannelConfigError, match="PROLO_SMS_WEBHOOK_SECRET"):
        channels_from(settings)


def test_a_webhook_url_that_is_not_http_is_refused_without_repeating_it() -> None:
    with pytest.raises(ChannelConfigError, match="http") as caught:
        WebhookSmsChannel(url="ftp://sms.example.test/hook?token=t0ps3cret", secret=SECRET)
    assert "t0ps3cret" not in str(caught.value)


# --- log channel, fallbacks and S7 -------------------------------------------------------------------


def test_the_log_channel_prints_the_text_only_on_the_prolo_reminders_logger(caplog: pytest.LogCaptureFixture) -> None:
    message = make_message("log", key="reminder-0003", subject=SUBJECT)
    caplog.set_level(logging.DEBUG)
    delivered = LogChannel().send(message)
    assert delivered == Delivered(provider_id="log:reminder-0003")
    [record] = [r for r in caplog.records if "Grüße" in r.getMessage()]
    assert (record.name, record.levelno) == ("prolo.reminders", logging.INFO)
    line = record.getMessage()
    assert "\n" not in line
    for part in (message.reminder_id, "kind=appointment", "channel=log", "key=reminder-0003", SUBJECT):
        assert part in line
    assert PATIENT_EMAIL not in line  # contact data stays out even here


def test_without_smtp_host_or_webhook_url_everything_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    channels = channels_from(Settings(_env_file=None, smtp_host=None, sms_webhook_url=None))
    assert set(channels) == {"email", "sms", "log"}
    assert all(isinstance(channel, LogChannel) for channel in channels.values())
    caplog.set_level(logging.INFO, logger="prolo.reminders")
    channels["sms"].send(make_message("sms"))
    assert "channel=sms" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(
    ("port", "starttls", "security"),
    [(587, True, SmtpSecurity.starttls), (25, False, SmtpSecurity.none), (465, True, SmtpSecurity.implicit)],
)
def test_configured_channels_are_smtp_and_the_webhook(port: int, starttls: bool, security: SmtpSecurity) -> None:
    settings = Settings(
        _env_file=None,
        smtp_host="smtp.example.test",
        smtp_port=port,
        smtp_starttls=starttls,
        sms_webhook_url="https://sms.example.test/hook",
        sms_webhook_secret=SECRET,
    )
    channels = channels_from(settings)
    email, sms = channels["email"], channels["sms"]
    assert isinstance(email, SmtpChannel)
    assert (email.port, email.security) == (port, security)
    assert isinstance(sms, WebhookSmsChannel)
    assert isinstance(channels["log"], LogChannel)


@pytest.fixture
def failures_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def test_failures_are_logged_without_text_or_contact_data(failures_logged: pytest.LogCaptureFixture) -> None:
    email, sms = make_message(), make_message("sms")
    with smtp_receiver() as smtp, webhook_receiver(SECRET, replies=(Reply(400, {"to": PATIENT_PHONE}),)) as hook:
        smtp.refuse(PATIENT_EMAIL)
        for channel, message in ((smtp_channel(smtp.port), email), (sms_channel(hook.url), sms)):
            with pytest.raises(DeliveryError):
                channel.send(message)
    ours = [r for r in failures_logged.records if r.name.startswith("prolo")]
    assert [(r.name, r.levelno) for r in ours] == [("prolo.notify", logging.WARNING)] * 2
    assert email.reminder_id in ours[0].getMessage() and "SMTPRecipientsRefused" in ours[0].getMessage()
    assert sms.reminder_id in ours[1].getMessage() and "HTTP 400" in ours[1].getMessage()
    for record in ours:
        for secret in (PATIENT_EMAIL, PATIENT_PHONE, SUBJECT, "Keller", "Sitzung"):
            assert secret not in record.getMessage()


def test_a_message_repr_shows_no_contact_data_or_text() -> None:
    shown = repr(make_message())
    assert PATIENT_EMAIL not in shown and "Keller" not in shown and SUBJECT not in shown
