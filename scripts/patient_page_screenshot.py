"""Make docs/patient-page.png: the page a demo patient opens from the link in a reminder, on a phone.

The demo (`prolo demo`) is filled on a fixed day into a scratch SQLite database; Greta Lorenz's
next session still open to changes gets its link as staff would (`POST /v1/sessions/{id}/link`
does the same), and Debian's Chromium, driven by Playwright, shows the page at 390 × 844 CSS px
(a common phone) and saves it whole. Run it with `make patient-page-screenshot`.
"""

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the browser helper the tests use

from playwright.sync_api import sync_playwright  # noqa: E402

from api.demo import fill_demo  # noqa: E402
from api.patient_page.render import render_page  # noqa: E402
from api.services.links import load_keys  # noqa: E402
from api.services.patient_links import session_link  # noqa: E402
from api.services.patient_page import patient_page  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.store import actors  # noqa: E402
from api.store.db import make_engine  # noqa: E402
from api.store.migrate import upgrade  # noqa: E402
from api.store.unit_of_work import reading, writing  # noqa: E402
from models import Patient, Session  # noqa: E402
from tests.system.browser import tool  # noqa: E402

DEMO_DAY = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # fixed, so the picture changes only when the page does
PATIENT_MRN = "MRN-004209"  # Greta Lorenz, reminded by e-mail
PUBLIC_URL = "https://prolo.example.org"
TARGET = REPO / "docs" / "patient-page.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'demo.db'}"
        settings = Settings(database_url=url, clinic_timezone="Europe/Berlin", public_url=PUBLIC_URL)
        engine = make_engine(url)
        upgrade(engine)
        fill_demo(engine=engine, settings=settings, now=DEMO_DAY)
        with writing(engine, actor=actors.COMMAND_LINE, action="patient-page-screenshot", now=DEMO_DAY) as uow:
            keys = uow.link_keys = load_keys(uow=uow, settings=settings, now=DEMO_DAY)
            query = (
                select(Session)
                .join(Patient, col(Patient.id) == col(Session.patient_id))
                .where(col(Patient.mrn) == PATIENT_MRN, col(Session.start_at) > DEMO_DAY + timedelta(days=2))
                .order_by(col(Session.start_at))
            )
            session = uow.execute(query).scalars().first()
            assert session is not None, "the demo has no session of Greta Lorenz to come"
            token = session_link(uow=uow, session_id=session.id, origin=PUBLIC_URL, now=DEMO_DAY).url.split("/p/")[1]
        with reading(engine, link_keys=keys) as uow:
            page = render_page(patient_page(uow=uow, keys=keys, token=token, now=DEMO_DAY), token=token)
        engine.dispose()
        TARGET.parent.mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=tool("chromium"), args=["--no-sandbox"])
            tab = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
            tab.set_content(page)
            tab.screenshot(path=str(TARGET), full_page=True)
            browser.close()
    print(f"wrote {TARGET.relative_to(REPO)}")


if __name__ == "__main__":
    main()
