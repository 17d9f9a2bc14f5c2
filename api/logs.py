"""Logging for `prolo serve`: access lines without query strings or feed secrets (S7, S9).

Query strings carry patient searches (`?q=keller`) and phone numbers; the access
log keeps method, path and status only. A calendar feed's secret sits in its path
(`/v1/calendar/<token>.ics`) and opens the feed to whoever reads it, so it is masked.
"""

import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_FEED_SECRET = re.compile(r"^/v1/calendar/[^/]+\.ics$")


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = _FEED_SECRET.sub("/v1/calendar/(secret).ics", args[2].split("?", 1)[0])
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, plus the filter on its access logger."""
    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"drop_query": {"()": DropQueryString}}
    config["handlers"] = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    return config
