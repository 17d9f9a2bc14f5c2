"""Logging for `prolo serve`: access lines without query strings or feed secrets, tracebacks without messages (S7, S9).

Query strings carry patient searches (`?q=keller`) and phone numbers; the access
log keeps method, path and status only. A calendar feed's secret sits in its path
(`/v1/calendar/<token>.ics`) and opens the feed to whoever reads it, so it is masked;
so is a patient link's token (`/p/<token>`, R23), and any other part of a `/v1` path that
is neither one of the API's own words nor an id (a client that puts a name where an id
belongs must not write the name to the log).

Prolo's own loggers (`prolo.*`) print at INFO next to uvicorn's, with the same
withheld tracebacks; the development `log` channel's reminder text is among them, as
S7 allows for that channel alone.

An exception's message quotes the values it choked on: pydantic's `input_value=`,
SQLAlchemy's `[parameters: …]`, a patient's name or note among them. A traceback in
the log (an unexpected 500, and uvicorn's own "Exception in ASGI application" about
it) keeps its frames and each exception's class, never a message.
"""

import logging
import re
import traceback
from functools import cache
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from scheduling.links import without_tokens

_FEED_SECRET = re.compile(r"^/v1/calendar/[^/]+\.ics$")
_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_MASK = "(…)"


@cache
def _api_words() -> frozenset[str]:
    """Every literal part of the API's paths (`v1`, `patients`, `calendar.ics`, …)."""
    from api.web.routes import OPTIONAL_ROUTERS, ROUTERS  # they name the words; imported late: only servers log

    return frozenset(
        part
        for router in (*ROUTERS, *OPTIONAL_ROUTERS)
        for route in router.routes
        for part in getattr(route, "path", "").split("/")
        if part and "{" not in part
    )


def _masked(path: str) -> str:
    if path.startswith("/p/"):  # a patient link's token opens the patient's page (R23)
        return without_tokens(path)
    if _FEED_SECRET.match(path):
        return "/v1/calendar/(secret).ics"
    if not path.startswith("/v1/"):
        return path
    words = _api_words()
    return "/".join(p if not p or p in words or _ID.match(p) else _MASK for p in path.split("/"))


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], _masked(args[2].split("?", 1)[0]), args[3], args[4])
        return True


def traceback_without_messages(exc: BaseException) -> str:
    """Where `exc` (and each exception it was raised from) came from, by frame, naming classes but no message."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for each in reversed(chain):  # the first raised first, as Python prints a chain
        frames = "".join(traceback.format_list(traceback.extract_tb(each.__traceback__)))
        name = f"{type(each).__module__}.{type(each).__qualname__}"
        parts.append(f"Traceback (most recent call last):\n{frames}{name} (message withheld: may quote patient data)")
    return "\n\nwhich led to:\n\n".join(parts)


class WithholdExceptionMessages(logging.Filter):
    """A record's traceback as `traceback_without_messages` writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = traceback_without_messages(record.exc_info[1])  # the formatter prints this as it is
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, plus the filters on its access and error loggers."""
    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"drop_query": {"()": DropQueryString}, "withhold_messages": {"()": WithholdExceptionMessages}}
    config["handlers"] = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    config["loggers"] = {name: dict(logger) for name, logger in LOGGING_CONFIG["loggers"].items()}
    # On the handler, not on loggers: a logger's filters see only its own records, not those of its
    # children (prolo.dispatch, prolo.errors …) passing through; the handler prints them all.
    config["handlers"]["default"]["filters"] = ["withhold_messages"]
    config["loggers"]["prolo"] = {"handlers": ["default"], "level": "INFO"}
    return config
