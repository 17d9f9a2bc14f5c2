"""The patient's page as a patient sees it (R25, WCAG 2.2 AA): Debian's Chromium, driven by Playwright.

- axe-core (the copy `axe-playwright-python` bundles) finds no WCAG 2.0/2.1/2.2 A or AA
  violation at 320 × 640 and at 1280 × 800, on the page and on its error page after a failed submit;
- every button is at least 44 × 44 CSS px, and the page reads at 320 px with 200 % text
  without scrolling sideways;
- confirming, cancelling and moving work by clicking, with JavaScript switched off.

Chromium comes from Debian (`scripts/test-tools`): without it these tests fail, never skip.
"""

import re
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize

from tests.api import patient_page_reading as reading
from tests.api.patient_page_reading import link_path
from tests.system.conftest import LiveApi

pytestmark = pytest.mark.system

VIEWPORTS: dict[str, ViewportSize] = {"phone": {"width": 320, "height": 640}, "desktop": {"width": 1280, "height": 800}}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
CANARIES = {
    "condition": "chronic low back pain",
    "medication": "Advil 200 mg",
    "surname": "Keller",
    "allergy": "latex",
    "birth date": "1971-04-09",
}


def page_of(browser: Browser, viewport: ViewportSize, *, javascript: bool) -> Page:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript, bypass_csp=javascript)
    return context.new_page()


def course_link(live: LiveApi, staff: httpx.Client, session_index: int = 1) -> str:
    course = reading.canary_course(staff, CANARIES, start_date=reading.monday_two_weeks_ahead())
    return live.base_url + link_path(staff, course["sessions"][session_index]["id"])


def violations(page: Page) -> list[dict[str, Any]]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    found: list[dict[str, Any]] = results.response["violations"]
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in found]


# Elements wider than the 320 px screen, or whose content is wider than they are.
OVERFLOWING = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 321 || e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}/${e.clientWidth}`)"""


def small_buttons(page: Page) -> list[str]:
    """Every button smaller than 44 × 44 CSS px, by its text."""
    small = []
    for button in page.locator("button").all():
        box = button.bounding_box()
        assert box is not None
        if box["width"] < 44 or box["height"] < 44:
            small.append(f"{button.inner_text()}: {box['width']:.0f}×{box['height']:.0f}")
    return small


def assert_reads_at_320_px_with_200_percent_text(browser: Browser, url: str) -> None:
    """At 320 CSS px with the reader's text at 200 %, nothing scrolls sideways and every button stays large."""
    page = page_of(browser, VIEWPORTS["phone"], javascript=True)
    page.goto(url)
    page.add_style_tag(content="html { font-size: 200% !important; }")  # the reader's larger text
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate(OVERFLOWING)  # named in the failure, to find the culprit
    assert widths[0] <= widths[1], (widths, wide)
    assert small_buttons(page) == []
    page.context.close()


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_r25_no_wcag_a_or_aa_violation_and_buttons_large_enough(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client, size: str
) -> None:
    url = course_link(prolo_live, prolo_staff)
    page = page_of(browser, VIEWPORTS[size], javascript=True)
    assert page.goto(url).status == 200  # type: ignore[union-attr]
    assert page.locator("button").count() == 3  # confirm, move, cancel: every action allowed now
    assert violations(page) == []
    assert small_buttons(page) == []
    # the error page after a failed submit: the summary first, itself without violations
    page.get_by_role("button", name="Send my answer").click()
    assert page.get_by_role("alert").is_visible()
    assert violations(page) == []
    page.context.close()


def test_r25_at_320_px_with_200_percent_text_nothing_scrolls_sideways(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client
) -> None:
    assert_reads_at_320_px_with_200_percent_text(browser, course_link(prolo_live, prolo_staff))


def test_r26_confirm_cancel_and_move_by_clicking_without_javascript(
    browser: Browser, prolo_live: LiveApi, prolo_staff: httpx.Client
) -> None:
    course = reading.canary_course(prolo_staff, CANARIES, start_date=reading.monday_two_weeks_ahead())
    sessions = course["sessions"]
    page = page_of(browser, VIEWPORTS["phone"], javascript=False)

    page.goto(prolo_live.base_url + link_path(prolo_staff, sessions[0]["id"]))
    page.get_by_role("button", name="Confirm my session").click()
    assert page.get_by_text("Thank you: your session is confirmed.").is_visible()
    assert prolo_staff.get(f"/v1/sessions/{sessions[0]['id']}").json()["status"] == "confirmed"

    page.goto(prolo_live.base_url + link_path(prolo_staff, sessions[2]["id"]))
    page.get_by_text("I cannot come to this session").click()  # the label checks its radio
    page.get_by_role("button", name="Send my answer").click()
    assert page.get_by_text("Your session is cancelled.").is_visible()
    assert prolo_staff.get(f"/v1/sessions/{sessions[2]['id']}").json()["status"] == "cancelled"

    page.goto(prolo_live.base_url + link_path(prolo_staff, sessions[1]["id"]))
    first = page.locator("label[for=move-0]").inner_text()
    page.locator("label[for=move-0]").click()
    page.get_by_role("button", name="Move my session").click()
    assert page.get_by_text("Your session has moved.").is_visible()
    moved = prolo_staff.get(f"/v1/sessions/{sessions[1]['id']}").json()
    assert reading.as_shown(moved["start_local"]) == re.sub(r" at ", " ", first.splitlines()[0].strip())
    page.context.close()
