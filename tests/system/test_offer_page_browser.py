"""The offer's page as a patient sees it (R44, WCAG 2.2 AA): Debian's Chromium, driven by Playwright.

- axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation at 320 × 640 and at 1280 × 800, on the offer's
  page (its move pulling later sessions with it), on a taken offer's page (200) and on an ended link's
  offer page (410; revoked here: an expired offer's link shows the same page, and the server's clock is real);
- every button is at least 44 × 44 CSS px, and the page reads at 320 px with 200 % text without
  scrolling sideways;
- Accept works by clicking, with JavaScript switched off.
"""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import select
from sqlmodel import col

from models import Reminder
from tests.conftest import Database
from tests.system.conftest import LiveApi
from tests.system.test_offer_page_live import clinic, friday, waiting
from tests.system.test_patient_page_browser import (
    VIEWPORTS,
    assert_reads_at_320_px_with_200_percent_text,
    page_of,
    small_buttons,
    violations,
)
from tests.system.test_reschedule_race import created, next_year_monday

pytestmark = pytest.mark.system


def offers(live: LiveApi, staff: httpx.Client, db: Database, count: int) -> list[dict[str, Any]]:
    """`count` waiting patients offered the Friday before their session 3; the clinic closed in the week session 4
    aimed at, so taking it pulls sessions 4–6 earlier. Each offer with its page's URL (from its stored text)."""
    clinic(staff)
    monday = next_year_monday()
    closed = {"start_date": str(monday + timedelta(days=39)), "end_date": str(monday + timedelta(days=44))}
    created(staff.post("/v1/closures", json={**closed, "reason": "Clinic closed"}))
    prac = created(staff.post("/v1/practitioners", json={"name": "Dr. Amara Okafor"}))["id"]
    entries = waiting(staff, prac, ["09:00", "10:00", "11:00"][:count])
    opening = created(staff.post("/v1/waitlist/openings", json=friday(prac, "09:00")))
    made = staff.post(f"/v1/waitlist/openings/{opening['id']}/offers", json={"entry_ids": [e["id"] for e in entries]})
    assert made.status_code == 201, made.text
    with db.engine.connect() as conn:
        query = select(col(Reminder.offer_id), col(Reminder.body)).where(col(Reminder.kind) == "waitlist_offer")
        bodies = {str(offer_id): body for offer_id, body in conn.execute(query)}
    by_entry = {o["entry_id"]: o for o in made.json()}
    found = []
    for entry in entries:
        offer = by_entry[entry["id"]]
        url = live.base_url + "/p/" + bodies[offer["id"]].split("/p/", 1)[1][:22]
        found.append({**offer, "url": url, "third": entry["third"]})
    assert len(found[0]["proposed"]["moved"]) == 3
    return found


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_r44_no_wcag_a_or_aa_violation_on_the_offer_and_its_ended_pages(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client, clean_db: Database, size: str
) -> None:
    mine, theirs = offers(prolo_live, prolo_staff, clean_db, 2)
    page = page_of(browser, VIEWPORTS[size], javascript=True)
    assert page.goto(mine["url"]).status == 200  # type: ignore[union-attr]
    assert page.locator("button").count() == 1  # Accept, the one thing to do
    assert violations(page) == []
    assert small_buttons(page) == []
    assert prolo_staff.post(f"/v1/waitlist/offers/{theirs['id']}/accept").status_code == 200  # someone else first
    page.reload()
    assert page.get_by_text("This offer has ended").is_visible()
    assert violations(page) == []
    assert prolo_staff.post(f"/v1/patients/{mine['patient_id']}/links/revoke").status_code == 200
    assert page.goto(mine["url"]).status == 410  # type: ignore[union-attr]
    assert page.get_by_text("Your booking is unchanged.").is_visible()
    assert violations(page) == []
    page.context.close()


def test_r44_at_320_px_with_200_percent_text_nothing_scrolls_sideways(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client, clean_db: Database
) -> None:
    [offer] = offers(prolo_live, prolo_staff, clean_db, 1)
    assert_reads_at_320_px_with_200_percent_text(browser, offer["url"])


def test_r44_accept_by_clicking_without_javascript(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client, clean_db: Database
) -> None:
    [offer] = offers(prolo_live, prolo_staff, clean_db, 1)
    page = page_of(browser, VIEWPORTS["phone"], javascript=False)
    page.goto(offer["url"])
    page.get_by_role("button", name="Accept the new time").click()
    assert page.get_by_text("Thank you: your session is booked at the new time.").is_visible()
    moved = prolo_staff.get(f"/v1/sessions/{offer['third']['id']}").json()
    assert moved["start"] != offer["third"]["start"]
    assert moved["start"].startswith(offer["proposed"]["session"]["start"][:10])
    page.context.close()
