"""Reading the patient's page as a test: the link's path, the alternatives offered, the error summary."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from tests.api.helpers import Poster, book, patient, practitioner

CHOICE = re.compile(r'name="choice" value="([^"]+)"')


def link_path(client: Poster, session_id: str) -> str:
    """`/p/{token}` of the session's link, as staff get it."""
    answer = client.post(f"/v1/sessions/{session_id}/link")
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return "/p/" + url.split("/p/", 1)[1]


def choices(html: str) -> list[str]:
    return CHOICE.findall(html)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(html: str) -> str:
    """The words a patient reads, one space between them."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def has_alert(html: str) -> bool:
    return 'role="alert"' in html


_LABEL = re.compile(r'<label for="move-(\d+)">(.*?)</label>', re.S)
_MOVE = re.compile(r"Your session (\d+) also moves, from .+? at \d\d:\d\d to (\w+ \d+ \w+ \d{4}) at (\d\d:\d\d)\.")


def shown_moves(html: str, index: int) -> dict[int, str]:
    """The other sessions alternative `index` moves, as the page tells them: number → "Tuesday 30 March 2027 09:00"."""
    labels = {int(i): body for i, body in _LABEL.findall(html)}
    return {int(n): f"{day} {clock}" for n, day, clock in _MOVE.findall(" ".join(labels[index].split()))}


def as_shown(start_local: str) -> str:
    """A session's `start_local` as the page writes it."""
    at = datetime.fromisoformat(start_local)
    return f"{at.strftime('%A')} {at.day} {at.strftime('%B')} {at.year} {at:%H:%M}"


CANARIES = {
    "condition": "Canary-Condition-Tendinopathy",
    "medication": "Canary-Medication-Ibuprofen",
    "surname": "Canary-Surname",
    "allergy": "Canary-Allergy-Latex",
    "birth date": "1966-06-16",
}


def canary_patient(client: Poster, canaries: dict[str, str], phone: str = "+4930123456") -> dict[str, Any]:
    """A patient whose surname, birth date, medications and allergies are canaries no patient page or message
    may show; reminders by SMS."""
    return patient(
        client,
        family_name=canaries["surname"],
        date_of_birth=canaries["birth date"],
        medications=[canaries["medication"]],
        allergies=[canaries["allergy"]],
        phone=phone,
        reminder_channel="sms",
        reminder_consent=True,
    )


def canary_course(client: Poster, canaries: dict[str, str], **fields: Any) -> dict[str, Any]:
    """A course whose patient and condition hold canary values no patient page may show; reminders by SMS."""
    pat = canary_patient(client, canaries)
    return book(client, pat, practitioner(client), condition=canaries["condition"], **fields)


def monday_two_weeks_ahead() -> str:
    """A Monday two to three weeks from today (the real one, for a live server): outside the default notice
    periods, inside 720 hours."""
    today = datetime.now(UTC).date()
    return (today + timedelta(days=14 + (7 - today.weekday()) % 7)).isoformat()
