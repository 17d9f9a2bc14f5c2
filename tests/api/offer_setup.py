"""A waitlist offer as a patient receives it, for in-process and live-server tests (R43, R44).

Courses every 14 days from Mon 1 Mar 2027 (Berlin); each waiting patient wants session 3 (Mon 29 Mar) earlier.
A freed Friday (26 Mar 09:00, the first day of session 3's R3 window) moves nothing else; but with the clinic
closed 9–14 Apr (`CLOSED`, before the booking) session 4 lands late in its window (Thu 15 Apr), and the same
Friday pulls sessions 4–6 earlier with it.
"""

import itertools
import re
from typing import Any

from tests.api.helpers import Poster, book, created
from tests.api.patient_page_reading import CANARIES, canary_patient

FRIDAY = {"start": "2027-03-26T09:00:00+01:00", "end": "2027-03-26T09:45:00+01:00"}
CLOSED = {"start_date": "2027-04-09", "end_date": "2027-04-14", "reason": "Clinic closed"}
_LINK = re.compile(r"https?://[^\s/]+(/p/[A-Za-z0-9_-]{22})")
_phones = itertools.count(100)


def waiting_patient(client: Poster, prac: dict[str, Any], at: str) -> dict[str, Any]:
    """A patient on SMS (a number of their own) whose course starts Mon 1 Mar at `at`, waiting for session 3
    earlier; the entry's JSON with the course under "course"."""
    pat = canary_patient(client, CANARIES, phone=f"+4930555{next(_phones):04d}")
    course = book(client, pat, prac, preferred_time=at, condition=CANARIES["condition"])
    entry = created(client.post("/v1/waitlist", json={"session_id": course["sessions"][2]["id"]}))
    return {**entry, "course": course, "phone": pat["phone"]}


def opening(client: Poster, prac: dict[str, Any], span: dict[str, str]) -> dict[str, Any]:
    return created(client.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **span}))


def link_in(text: str) -> str:
    """The `/p/{token}` path of the one patient link a message carries."""
    found = _LINK.findall(text)
    assert len(found) == 1, text
    path: str = found[0]
    return path
