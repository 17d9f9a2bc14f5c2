"""Logging for `prolo serve`: access lines without query strings (S7).

Query strings carry patient searches (`?q=keller`) and phone numbers; the access
log keeps method, path and status only.
"""

import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, plus the filter on its access logger."""
    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"drop_query": {"()": DropQueryString}}
    config["handlers"] = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    return config
