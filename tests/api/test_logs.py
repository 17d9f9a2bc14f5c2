"""S7: access logs carry the path but never the query string (patient searches, phone numbers), nor a feed secret."""

import logging
import logging.config

import pytest

from api.notify.log import REMINDER_LOGGER, LogChannel
from api.notify.message import Message
from api.web.logs import DropQueryString, log_config


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/v1/patients?q=keller&limit=5", "/v1/patients"),
        # S9: the secret in a feed URL opens the feed to whoever reads the log
        ("/v1/calendar/EsP9EUhFaNUBHSbgjUGDqQN7vPCUiTH9NUTqFK9Brjk.ics", "/v1/calendar/(secret).ics"),
        # ids and the API's own words stay; a name where an id belongs does not reach the log
        (
            "/v1/sessions/01a2425e-85df-7465-a050-6f97c3d51937/check-in",
            "/v1/sessions/01a2425e-85df-7465-a050-6f97c3d51937/check-in",
        ),
        ("/v1/patients/Keller/restrictions?on=2027-03-01", "/v1/patients/(…)/restrictions"),
        ("/v1/patients/MRN-004211", "/v1/patients/(…)"),
        ("/docs", "/docs"),
        # R23: a patient link's token opens the patient's page
        ("/p/q8Xz1v0cR2mN5tYb7LkPaw?done=confirmed", "/p/…"),
        ("/p/q8Xz1v0cR2mN5tYb7LkPaw/reschedule", "/p/…/reschedule"),
    ],
)
def test_s7_access_log_drops_the_query_string_and_feed_secrets(path: str, logged: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    assert DropQueryString().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "GET {logged} HTTP/1.1" 200'


def test_s7_serve_installs_the_filter_on_the_access_handler() -> None:
    config = log_config()
    assert config["handlers"]["access"]["filters"] == ["drop_query"]
    assert config["handlers"]["default"]["filters"] == ["withhold_messages"]


def test_s7_a_traceback_from_any_prolo_logger_withholds_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A channel's own bug, logged by the dispatcher with its traceback, must not print the patient in it."""
    patient = {"name": "CANARY Maria Keller", "phone": "+4915112345678"}  # not on the lines a traceback shows

    def channel_with_a_bug(to: dict[str, str]) -> None:
        raise ValueError(f"could not send to {to['name']} at {to['phone']}")

    logging.config.dictConfig(log_config())
    try:
        try:
            channel_with_a_bug(patient)
        except ValueError:
            logging.getLogger("prolo.dispatch").exception("channel sms raised for reminder 42")
        logging.getLogger("prolo.errors").warning("database unavailable: %s", "OperationalError")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    printed = capsys.readouterr().err
    assert "channel sms raised for reminder 42" in printed and "ValueError (message withheld" in printed
    assert "database unavailable: OperationalError" in printed  # Prolo's own lines do print (INFO and up)
    assert "CANARY" not in printed and "Keller" not in printed and "4915112345678" not in printed


def test_r23_the_log_channel_prints_the_message_without_the_links_token(caplog: pytest.LogCaptureFixture) -> None:
    message = Message(
        reminder_id="r-1",
        idempotency_key="k-1",
        kind="appointment",
        channel="sms",
        to="+4930123456",
        subject=None,
        body="Hello Maria, … To confirm, cancel or move it: https://prolo.example.org/p/q8Xz1v0cR2mN5tYb7LkPaw",
    )
    with caplog.at_level(logging.INFO, logger=REMINDER_LOGGER):
        LogChannel().send(message)
    assert "q8Xz1v0cR2mN5tYb7LkPaw" not in caplog.text
    assert "To confirm, cancel or move it: https://prolo.example.org/p/…" in caplog.text
