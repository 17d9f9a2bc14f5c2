"""S7: access logs carry the path but never the query string (patient searches, phone numbers)."""

import logging

from api.logs import DropQueryString, log_config


def test_s7_access_log_drops_the_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/patients?q=keller&limit=5", "1.1", 200),
        None,
    )
    assert DropQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/patients HTTP/1.1" 200'


def test_s7_serve_installs_the_filter_on_the_access_handler() -> None:
    config = log_config()
    assert config["handlers"]["access"]["filters"] == ["drop_query"]
    assert "filters" not in config["handlers"]["default"]
