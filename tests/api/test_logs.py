"""S7: access logs carry the path but never the query string (patient searches, phone numbers), nor a feed secret."""

import logging

import pytest

from api.logs import DropQueryString, log_config


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
    assert "filters" not in config["handlers"]["default"]
