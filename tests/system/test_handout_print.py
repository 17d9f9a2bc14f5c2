"""The aftercare handout (S11) printed in a real browser: one page on A4 and on US Letter, all it must say.

The page is fetched from the real app, saved to a file and printed from there by headless
Chromium, as a saved copy would be: anything it fetched from elsewhere would be missing.
"""

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import book, patient, practitioner
from tests.system.browser import pdf_info, pdf_text, print_pdf

pytestmark = pytest.mark.system

PHONE = "+49 89 1234567"  # as the handout prints it (stored as E.164)
SCRIPT_NAME = '<script>alert("hi")</script>'
# Sheet sizes in points, as pdfinfo reports them (Chromium rounds to its own units).
SHEETS = {"a4": (595.3, 841.9), "letter": (612.0, 792.0)}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def spelled(day: date) -> str:
    """ "Fri 5 Mar": how a patient reads a day on the sheet."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def local_start(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["start_local"])


@pytest.fixture
def course(client: TestClient) -> dict[str, Any]:
    """Six sessions for a patient on two NSAIDs of her own, with a clinic name and phone at full length."""
    clinic = {"name": "Riverside Prolotherapy & Sports Medicine", "timezone": "Europe/Berlin", "phone": "+49891234567"}
    assert client.put("/v1/clinic", json=clinic).status_code == 200
    pat = patient(client, given_name="Maria-Magdalena", medications=["Advil 200 mg", "Aleve 220 mg", "metformin"])
    return book(client, pat, practitioner(client))


def printed(client: TestClient, course_id: str, tmp_path: Path, paper: str | None) -> tuple[str, Path]:
    answer = client.get(f"/v1/courses/{course_id}/handout", params={"paper": paper} if paper else {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = tmp_path / f"handout-{paper}.html"
    page.write_text(answer.text, encoding="utf-8")
    pdf = tmp_path / f"handout-{paper}.pdf"
    print_pdf(page, pdf)
    return answer.text, pdf


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_s11_a_six_session_handout_prints_on_one_sheet_with_everything_it_must_say(
    client: TestClient, course: dict[str, Any], tmp_path: Path, paper: str
) -> None:
    _, pdf = printed(client, course["id"], tmp_path, paper)
    info = pdf_info(pdf)
    assert info.pages == 1
    assert (info.width_pt, info.height_pt) == pytest.approx(SHEETS[paper], abs=2)
    text = " ".join(pdf_text(pdf).split())  # the words in reading order, whatever the layout's spacing
    for session in course["sessions"]:
        start = local_start(session)
        assert f"{spelled(start.date())} {start.year}, {start:%H:%M}" in text  # every session's day and time
        assert f"until {spelled(start.date() + timedelta(days=4))}" in text  # R13: no NSAIDs for 5 days
    assert PHONE in text
    assert "Advil 200 mg (contains ibuprofen)" in text and "Aleve 220 mg (contains naproxen)" in text
    assert "metformin" not in text  # not an NSAID: nothing to pause
    assert "For Maria-Magdalena" in text and "Keller" not in text  # the first name only
    for words in ("ibuprofen (Advil, Motrin, Nurofen)", "Paracetamol/acetaminophen", "is fine", "a fever", "bleeding"):
        assert words in text, words
    assert "redness, warmth or swelling that spreads" in text


def test_s11_without_a_paper_the_sheet_is_the_printers_and_still_one_page(
    client: TestClient, course: dict[str, Any], tmp_path: Path
) -> None:
    html, pdf = printed(client, course["id"], tmp_path, None)
    page_rule = re.search(r"@page \{[^}]*\}", html)
    assert page_rule and "size" not in page_rule.group()  # the printer's paper (headless Chromium's is Letter)
    assert pdf_info(pdf).pages == 1


def test_s11_a_name_holding_markup_is_printed_as_text(client: TestClient, tmp_path: Path) -> None:
    pat = patient(client, given_name=SCRIPT_NAME)
    course = book(client, pat, practitioner(client))
    html, pdf = printed(client, course["id"], tmp_path, "a4")
    assert "<script" not in html and "&lt;script&gt;" in html
    assert f"For {SCRIPT_NAME}" in " ".join(pdf_text(pdf).split())


def test_s11_the_page_is_self_contained(client: TestClient, course: dict[str, Any]) -> None:
    html = client.get(f"/v1/courses/{course['id']}/handout").text
    for outside in ("http:", "https:", "//", "src=", "href=", "url(", "@import", "<link", "<script", "<img"):
        assert outside not in html.replace("<!doctype html>", ""), outside


def test_s11_cancelled_and_missed_sessions_are_left_off_the_sheet(
    client: TestClient, course: dict[str, Any], tmp_path: Path
) -> None:
    second = course["sessions"][1]
    assert client.post(f"/v1/sessions/{second['id']}/cancel", json={"reason": "away"}).status_code == 200
    _, pdf = printed(client, course["id"], tmp_path, "a4")
    text = " ".join(pdf_text(pdf).split())
    assert spelled(local_start(second).date()) not in text
    assert spelled(local_start(course["sessions"][2]).date()) in text
