"""Make docs/handout.png: the demo clinic's aftercare handout, printed on A4 by headless Chromium.

The demo (`prolo demo`) is filled on a fixed day into a scratch SQLite database, and the
handout of Thomas Becker's course (he takes Advil, an NSAID) is printed as staff would
print it, then turned into a 60 dpi PNG for the README. Run it with `make handout-screenshot`.
"""

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session as DbSession
from sqlmodel import col

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the printing helpers the handout test uses

from api.demo import fill_demo  # noqa: E402
from api.handout.render import Paper, render  # noqa: E402
from api.services.handout import course_handout  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.store.db import make_engine  # noqa: E402
from api.store.migrate import upgrade  # noqa: E402
from models import Course, Patient  # noqa: E402
from tests.system.browser import pdf_png, print_pdf  # noqa: E402

DEMO_DAY = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # fixed, so the picture changes only when the handout does
PATIENT_MRN = "MRN-004212"  # Thomas Becker, on Advil 200 mg
TARGET = REPO / "docs" / "handout.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        fill_demo(engine=engine, settings=Settings(database_url=url, clinic_timezone="Europe/Berlin"), now=DEMO_DAY)
        with DbSession(engine) as db:
            query = select(Course.id).join(Patient, col(Patient.id) == col(Course.patient_id))
            course_id = db.execute(query.where(col(Patient.mrn) == PATIENT_MRN)).scalar_one()
            page = render(course_handout(db=db, course_id=course_id), paper=Paper.a4)
        engine.dispose()
        (folder / "handout.html").write_text(page, encoding="utf-8")
        print_pdf(folder / "handout.html", folder / "handout.pdf")
        TARGET.parent.mkdir(exist_ok=True)
        pdf_png(folder / "handout.pdf", TARGET, dpi=60)
    print(f"wrote {TARGET.relative_to(REPO)}")


if __name__ == "__main__":
    main()
