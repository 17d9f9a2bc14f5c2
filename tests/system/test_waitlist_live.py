"""The waitlist (R39–R45) as a clinic lives it, against a real `prolo serve` whose clock moves forward.

One server for the module, on the test database (SQLite file, or PostgreSQL), its SMS going to a local
webhook. Its wall clock is real time plus an offset that libfaketime reads from a file on every call, and the
test moves that offset forward: ten minutes of settling, a quarter of an hour's hold, weeks until a freed time
comes too near, each in a few seconds. Dispatch passes run as a clinic runs them, `POST /v1/reminders/dispatch`
with a dispatcher's key and `prolo reminders dispatch` from cron, both under the moved clock.

Time only goes forward, as it does in a clinic: each test starts on the Monday after the one before ended, at
13:00 in Berlin, with a practitioner of its own, and books courses eight weeks ahead. The clinic's waitlist
settings are put back to their defaults before each test.

No row's time is ever written by the test: the database's own clock is never read by Prolo (it keeps no
`now()` default or trigger), so the server's clock is the only one that moves.
"""

import glob
import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from models import Role
from tests.api.helpers import book, clinic_settings, course_request, created, patient, practitioner
from tests.conftest import Database, make_key
from tests.system.conftest import (
    CLINIC_TIMEZONE,
    REQUEST_TIMEOUT_SECONDS,
    SMS_SECRET,
    Server,
    assert_problem,
    served_env,
    start_server,
)
from tests.system.receivers import WebhookReceiver, webhook_receiver
from tests.system.test_reschedule_race import at_local, instant

pytestmark = pytest.mark.system

ZONE = ZoneInfo(CLINIC_TIMEZONE)
PROLO = str(Path(sys.executable).with_name("prolo"))
FIRST_MONDAY = date(2027, 1, 4)
DEFAULTS = {  # R40–R43's defaults (models/waitlist.py)
    "mode": "staff",
    "settle_minutes": 10,
    "hold_minutes": 15,
    "batch_size": 3,
    "min_lead_minutes": 180,
    "min_gain_days": 1,
    "max_offers_per_week": 3,
}
SLACK = timedelta(seconds=1)  # between the test's reading of the moved clock and the server's
_phones = itertools.count(12_340_000)


# --- the clock ---------------------------------------------------------------------------------------------


def faketime_library() -> str:
    """libfaketime, which `scripts/test-tools` installs (Debian's `libfaketime`): a failure without it, never a skip."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")) + sorted(
        glob.glob("/usr/local/lib/faketime/libfaketime.so.1")
    )
    if not found:
        pytest.fail("the waitlist's live tests move the server's clock with libfaketime: run scripts/test-tools")
    return found[0]


@dataclass
class MovedClock:
    """The wall clock of the processes started with `env()`: real time plus an offset the test moves forward.

    libfaketime (LD_PRELOAD) reads the offset from `path` on every call (FAKETIME_NO_CACHE). Monotonic clocks stay
    real (FAKETIME_DONT_FAKE_MONOTONIC): asyncio's timers, the drivers' and uvicorn's timeouts keep working.
    The moved clock keeps running, so a request made right after a move sees the moved time plus the
    seconds since.

    libfaketime 0.9.10 (Debian 12's) with monotonic clocks left real: its "monotonic fix" of
    `pthread_cond_timedwait` makes the GIL's timed wait return at once, and a server whose event loop hands
    work to a thread spun ten times slower; FAKETIME_FORCE_MONOTONIC_FIX=0 leaves those waits alone (they
    are on the real monotonic clock). It also turns Python's `time.sleep` into EINVAL
    (wolfcw/libfaketime#426): the server and the dispatch pass never call it.
    """

    path: Path
    offset: timedelta = timedelta(0)

    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": faketime_library(),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
        }

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @classmethod
    def starting_at(cls, path: Path, when: datetime) -> "MovedClock":
        """A clock that reads `when` now, whatever the real date is."""
        clock = cls(path)
        clock._set(when)
        return clock

    def to(self, when: datetime) -> None:
        """Move the clock to `when` (never back: leases, holds and settling only make sense forward)."""
        assert when >= self.now(), f"time goes forward only: {when} is before {self.now()}"
        self._set(when)

    def _set(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)
        written = self.path.with_suffix(".new")
        written.write_text(f"{self.offset.total_seconds():+.3f}\n", encoding="ascii")
        written.replace(self.path)  # at once: a process reading it never sees half a line

    def forward(self, **delta: float) -> datetime:
        self.to(self.now() + timedelta(**delta))
        return self.now()


# --- the module's server -----------------------------------------------------------------------------------


@dataclass
class Clinic:
    """The live server, its moved clock, its SMS webhook and the keys that call it."""

    server: Server
    clock: MovedClock
    sms: WebhookReceiver
    staff: httpx.Client
    dispatcher_key: str
    env: dict[str, str]

    def dispatch(self) -> dict[str, int]:
        """One dispatch pass over HTTP, as a dispatcher on another host runs it."""
        answer = self.staff.post(
            "/v1/reminders/dispatch", json={}, headers={"Authorization": f"Bearer {self.dispatcher_key}"}
        )
        assert answer.status_code == 200, answer.text
        summary: dict[str, int] = answer.json()
        return summary

    def cron_dispatch(self) -> dict[str, int]:
        """One pass as cron runs it: `prolo reminders dispatch`, under the same moved clock."""
        done = subprocess.run(
            [PROLO, "reminders", "dispatch"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=REQUEST_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        last = done.stdout.strip().splitlines()[-1]
        return {name: int(value) for name, value in (pair.split("=") for pair in last.split())}

    def offered_to(self, *patients: dict[str, Any]) -> list[str]:
        """The phones of these patients that a waitlist offer went to by SMS, in the order the offers went."""
        phones = {p["phone"] for p in patients}
        with self.sms.lock:
            sent = [r.json() for r in self.sms.requests if r.signature_ok and r.status == 200]
        return [s["to"] for s in sent if s["kind"] == "waitlist_offer" and s["to"] in phones]


@pytest.fixture(scope="module")
def clinic(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    database.restore()
    directory = tmp_path_factory.mktemp("waitlist-live")
    clock = MovedClock.starting_at(directory / "faketime", at_local(FIRST_MONDAY, "13:00"))
    admin_key = make_key(database.engine, Role.admin, "waitlist live admin")
    dispatcher_key = make_key(database.engine, Role.dispatcher, "waitlist live dispatcher")
    with webhook_receiver(SMS_SECRET) as sms:
        env = served_env(
            database.url,
            sms_webhook_url=sms.url,
            sms_webhook_secret=SMS_SECRET,
            PROLO_CLINIC_TIMEZONE=CLINIC_TIMEZONE,
            **clock.env(),
        )
        server = start_server([PROLO, "serve", "--host", "127.0.0.1"], env=env, cwd=directory, logs=directory / "logs")
        headers = {"Authorization": f"Bearer {admin_key}"}
        try:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS) as staff:
                yield Clinic(server, clock, sms, staff, dispatcher_key, env)
        finally:
            server.stop()


@pytest.fixture
def monday(clinic: Clinic) -> date:
    """This test's start: the clock on the next Monday at 13:00 in Berlin; returns the Monday eight weeks on,
    the first day of the test's courses. The waitlist's settings are the defaults again."""
    today = clinic.clock.now().astimezone(ZONE).date()
    start = today + timedelta(days=7 - today.weekday())
    clinic.clock.to(at_local(start, "13:00"))
    clinic_settings(clinic.staff, waitlist=DEFAULTS)
    return start + timedelta(weeks=8)


@pytest.fixture
def prac(clinic: Clinic) -> dict[str, Any]:
    return practitioner(clinic.staff)


# --- builders ----------------------------------------------------------------------------------------------


def texted(clinic: Clinic) -> dict[str, Any]:
    """A patient texted by SMS (reachable: R41)."""
    phone = f"+49151{next(_phones):08d}"
    return patient(clinic.staff, phone=phone, reminder_channel="sms", reminder_consent=True)


def unreachable(clinic: Clinic) -> dict[str, Any]:
    """A patient without consent: their course's reminders are skipped, so the passes have less to send."""
    return patient(clinic.staff)


def waiting(
    clinic: Clinic, prac: dict[str, Any], monday: date, at: str, **entry: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A texted patient's course from `monday` at `at`, and their entry for session 3 (`monday` + 28 days)."""
    who = texted(clinic)
    course = book(clinic.staff, who, prac, start_date=monday.isoformat(), preferred_time=at)
    return who, created(clinic.staff.post("/v1/waitlist", json={"session_id": course["sessions"][2]["id"], **entry}))


def friday(monday: date, clock: str = "09:00") -> dict[str, str]:
    """The Friday before session 3 (`monday` + 25 days): 11 days after session 2, inside session 3's window
    (14 ± 3), so moving session 3 there moves nothing else."""
    start = at_local(monday + timedelta(days=25), clock)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()}


def overlaps(timed: dict[str, Any], span: dict[str, str]) -> bool:
    return instant(timed["start"]) < instant(span["end"]) and instant(timed["end"]) > instant(span["start"])


def open_by_hand(clinic: Clinic, prac: dict[str, Any], span: dict[str, str]) -> dict[str, Any]:
    return created(clinic.staff.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **span}))


@dataclass
class Offered:
    """Maria (09:00) and Jonas (10:00) waiting for session 3, another course the desk may move, and the Friday
    freed by hand, settled and offered by a pass (auto)."""

    maria: dict[str, Any]
    first: dict[str, Any]
    jonas: dict[str, Any]
    second: dict[str, Any]
    other: dict[str, Any]
    span: dict[str, str]
    opening: dict[str, Any]


def offered(clinic: Clinic, prac: dict[str, Any], monday: date, **waitlist: Any) -> Offered:
    clinic_settings(clinic.staff, waitlist={**DEFAULTS, "mode": "auto", **waitlist})
    (maria, first), (jonas, second) = waiting(clinic, prac, monday, "09:00"), waiting(clinic, prac, monday, "10:00")
    other = book(clinic.staff, unreachable(clinic), prac, start_date=(monday + timedelta(days=1)).isoformat())
    span = friday(monday)
    opening = open_by_hand(clinic, prac, span)
    clinic.clock.to(instant(opening["eligible_at"]) + timedelta(seconds=1))
    clinic.dispatch()
    return Offered(maria, first, jonas, second, other, span, opening)


def read(clinic: Clinic, path: str) -> dict[str, Any]:
    answer = clinic.staff.get(path)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def server_clock(clinic: Clinic) -> str:
    """The server's own clock as its answers say it (the Date header), for a failing assertion to show."""
    return f"server's clock {clinic.staff.get('/healthz').headers.get('date')}"


def opening_now(clinic: Clinic, opening: dict[str, Any]) -> dict[str, Any]:
    return read(clinic, f"/v1/waitlist/openings/{opening['id']}")


def openings_of(clinic: Clinic, prac: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = read(clinic, f"/v1/waitlist/openings?practitioner_id={prac['id']}&limit=200")["items"]
    return found


def offers_of(clinic: Clinic, opening: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = read(clinic, f"/v1/waitlist/offers?opening_id={opening['id']}")["items"]
    return found


def staff_items(clinic: Clinic, opening: dict[str, Any]) -> list[dict[str, Any]]:
    items = read(clinic, "/v1/reminders?kind=waitlist_opening&limit=500")["items"]
    return [i for i in items if opening["id"] in i["body"]]


def settling_for(opening: dict[str, Any], before: datetime, after: datetime, minutes: int = 10) -> None:
    """`eligible_at` is `minutes` after the moment the opening was made (between `before` and `after`; the
    offset file keeps milliseconds)."""
    settled = instant(opening["eligible_at"]) - timedelta(minutes=minutes)
    assert before - SLACK <= settled <= after + SLACK, (before, opening["eligible_at"], after)
    assert opening["status"] == "settling"


# --- R40: every freeing path opens the time it frees -------------------------------------------------------


def test_r40_every_freeing_path_opens_the_time_it_frees_in_the_same_transaction(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    staff = clinic.staff
    courses = [
        book(staff, unreachable(clinic), prac, start_date=monday.isoformat(), preferred_time=clock)
        for clock in ("09:00", "10:00", "11:00", "12:00")
    ]
    cancelled, moved, held, ended = courses
    before = clinic.clock.now()
    third = cancelled["sessions"][2]
    assert staff.post(f"/v1/sessions/{third['id']}/cancel", json={"reason": "flu"}).status_code == 200
    second = moved["sessions"][1]
    later = at_local(monday + timedelta(days=18), "10:00")  # 4 days later: sessions 3-6 reflow after it
    dry = staff.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": later.isoformat(), "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert [o["source"] for o in openings_of(clinic, prac)] == ["cancel"]  # a dry run frees nothing
    rescheduled = staff.post(f"/v1/sessions/{second['id']}/reschedule", json={"start": later.isoformat()})
    assert rescheduled.status_code == 200, rescheduled.text
    reflowed = [m["id"] for m in rescheduled.json()["moved"]]
    assert len(reflowed) >= 1
    assert staff.post(f"/v1/courses/{held['id']}/hold", json={"reason": "travelling"}).status_code == 200
    assert staff.post(f"/v1/courses/{ended['id']}/cancel", json={"reason": "moved away"}).status_code == 200
    after = clinic.clock.now()

    found = openings_of(clinic, prac)
    for opening in found:
        settling_for(opening, before, after)
    by_source = sorted((o["source"], o["start_local"]) for o in found)
    old = {s["id"]: s["start_local"] for c in courses for s in c["sessions"]}
    assert by_source == sorted(
        [("cancel", third["start_local"]), ("reschedule", second["start_local"])]
        + [("reflow", old[session_id]) for session_id in reflowed]
        + [("course_hold", s["start_local"]) for s in held["sessions"]]
        + [("course_cancel", s["start_local"]) for s in ended["sessions"]]
    )
    # the same transaction: each opening's creation is audited with the change to the session it freed, at
    # that change's instant and under its action
    for opening in found:
        [made] = read(clinic, f"/v1/audit-events?entity_id={opening['id']}")["items"]
        freeing = read(clinic, f"/v1/audit-events?entity_id={opening['source_session_id']}")["items"]
        assert (made["action"], made["at"]) in [(e["action"], e["at"]) for e in freeing], opening["source"]


def test_r40_staff_open_free_time_by_hand_and_not_time_that_is_taken(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    course = book(clinic.staff, unreachable(clinic), prac, start_date=monday.isoformat(), preferred_time="09:00")
    before = clinic.clock.now()
    opening = open_by_hand(clinic, prac, friday(monday))
    settling_for(opening, before, clinic.clock.now())
    assert (opening["source"], opening["start_local"]) == (
        "manual",
        at_local(monday + timedelta(days=25), "09:00").isoformat(),
    )
    assert course["sessions"][0]["start_local"] == at_local(monday, "09:00").isoformat()  # until 09:45
    overlapping = {"start": at_local(monday, "09:30").isoformat(), "end": at_local(monday, "10:30").isoformat()}
    taken = clinic.staff.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **overlapping})
    assert assert_problem(taken, 409)["code"] == "conflict"  # session 1 holds it
    twice = clinic.staff.post("/v1/waitlist/openings", json={"practitioner_id": prac["id"], **friday(monday)})
    assert assert_problem(twice, 409)["code"] == "conflict"  # the opening holds it already
    assert [o["id"] for o in openings_of(clinic, prac)] == [opening["id"]]


# --- R40, R43: settling, then offered (auto) or raised (staff); lapsing -------------------------------------


def test_r40_an_opening_settles_ten_minutes_then_a_pass_offers_it_and_texts_the_patients(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    clinic_settings(clinic.staff, waitlist={**DEFAULTS, "mode": "auto"})
    (maria, first), (jonas, second) = waiting(clinic, prac, monday, "09:00"), waiting(clinic, prac, monday, "10:00")
    opening = open_by_hand(clinic, prac, friday(monday))
    eligible_at = instant(opening["eligible_at"])
    clinic.dispatch()
    assert (opening_now(clinic, opening)["status"], offers_of(clinic, opening)) == ("settling", [])
    clinic.clock.to(eligible_at - timedelta(seconds=30))  # 9.5 minutes on: a reshuffle's time, nothing offered
    clinic.dispatch()
    assert (opening_now(clinic, opening)["status"], offers_of(clinic, opening)) == ("settling", [])
    assert clinic.offered_to(maria, jonas) == []

    clinic.clock.to(eligible_at + timedelta(seconds=1))
    summary = clinic.cron_dispatch()  # cron's pass, under the moved clock
    sent_by = clinic.clock.now()
    assert summary["openings_settled"] >= 1 and summary["offers_made"] >= 2  # (other tests' openings too)
    offering = opening_now(clinic, opening)
    assert offering["status"] == "offering"
    made = offers_of(clinic, opening)
    assert sorted((o["entry_id"], o["status"]) for o in made) == sorted([(first["id"], "open"), (second["id"], "open")])
    assert sorted(clinic.offered_to(maria, jonas)) == sorted([maria["phone"], jonas["phone"]])  # by the same pass
    for offer in made:  # open hold_minutes after it went, and the time held until the last of them ends
        assert eligible_at <= instant(offer["sent_at"]) <= sent_by
        assert instant(offer["expires_at"]) == instant(offer["sent_at"]) + timedelta(minutes=15)
    assert instant(offering["hold_until"]) == max(instant(o["expires_at"]) for o in made)


def test_r40_quiet_hours_delay_the_offer_not_the_end_of_settling(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    clinic_settings(clinic.staff, waitlist={**DEFAULTS, "mode": "auto"})
    (maria, first), (jonas, second) = waiting(clinic, prac, monday, "09:00"), waiting(clinic, prac, monday, "10:00")
    today = clinic.clock.now().astimezone(ZONE).date()
    clinic.clock.to(at_local(today, "20:52"))  # freed late in the evening: settled at 21:02, in quiet hours
    opening = open_by_hand(clinic, prac, friday(monday))
    eligible_at = instant(opening["eligible_at"])
    clinic.clock.to(eligible_at + timedelta(minutes=1))
    clinic.dispatch()
    waited = opening_now(clinic, opening)
    assert (waited["status"], instant(waited["eligible_at"]), waited["hold_until"]) == ("settling", eligible_at, None)
    assert (offers_of(clinic, opening), clinic.offered_to(maria, jonas)) == ([], [])

    clinic.clock.to(at_local(today + timedelta(days=1), "08:00") + timedelta(seconds=1))
    clinic.dispatch()  # the first pass after quiet hours offers it
    assert opening_now(clinic, opening)["status"] == "offering"
    assert sorted(o["entry_id"] for o in offers_of(clinic, opening)) == sorted([first["id"], second["id"]])
    assert sorted(clinic.offered_to(maria, jonas)) == sorted([maria["phone"], jonas["phone"]])


def test_r43_staff_mode_raises_one_staff_item_with_the_ranked_candidates_and_offers_nothing(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    (maria, normal), (jonas, urgent) = (
        waiting(clinic, prac, monday, "09:00"),
        waiting(clinic, prac, monday, "10:00", priority="urgent"),
    )
    opening = open_by_hand(clinic, prac, friday(monday))
    clinic.clock.to(instant(opening["eligible_at"]) + timedelta(seconds=1))
    clinic.dispatch()
    assert opening_now(clinic, opening)["status"] == "offering"
    [item] = staff_items(clinic, opening)
    assert (item["audience"], item["status"], item["reason"]) == ("clinic", "ready", "waitlist_opening")
    assert item["body"].index(urgent["id"]) < item["body"].index(normal["id"])  # ranked: urgent first
    assert offers_of(clinic, opening) == []
    assert opening_now(clinic, opening)["hold_until"] is None  # nothing held: staff offer or phone
    clinic.clock.forward(minutes=20)
    clinic.dispatch()
    assert len(staff_items(clinic, opening)) == 1  # one item, not one a pass
    assert (offers_of(clinic, opening), clinic.offered_to(maria, jonas)) == ([], [])
    # staff choose whom to offer it to: that holds the time the same way
    made = clinic.staff.post(f"/v1/waitlist/openings/{opening['id']}/offers", json={"entry_ids": [normal["id"]]})
    assert made.status_code == 201, made.text
    assert opening_now(clinic, opening)["hold_until"] is not None


def test_r40_an_opening_lapses_when_taken_or_nearer_than_min_lead_and_r39_its_entry_closes_on_the_day(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    _, entry = waiting(clinic, prac, monday, "09:00")
    near = open_by_hand(clinic, prac, friday(monday))
    wednesday = at_local(monday + timedelta(days=30), "09:00")
    taken = open_by_hand(
        clinic, prac, {"start": wednesday.isoformat(), "end": (wednesday + timedelta(minutes=45)).isoformat()}
    )
    # settling is no hold: the desk books a patient into that time
    one = book(
        clinic.staff,
        unreachable(clinic),
        prac,
        start_date=wednesday.date().isoformat(),
        preferred_time="09:00",
        session_count=1,
    )
    assert one["sessions"][0]["start_local"] == wednesday.isoformat()
    clinic.clock.to(instant(near["eligible_at"]) + timedelta(seconds=1))
    clinic.dispatch()
    assert [opening_now(clinic, o)["status"] for o in (near, taken)] == ["offering", "lapsed"]
    assert opening_now(clinic, taken)["end_reason"] == "taken"

    start = instant(near["start"])
    clinic.clock.to(start - timedelta(hours=3, minutes=1))  # weeks later: still 3 h ahead
    summary = clinic.dispatch()
    still = opening_now(clinic, near)
    assert still["status"] == "offering", f"pass {summary}; opening {still}; {server_clock(clinic)}"
    clinic.clock.to(start - timedelta(hours=2, minutes=59))
    summary = clinic.dispatch()
    lapsed = opening_now(clinic, near)
    assert (lapsed["status"], lapsed["end_reason"], lapsed["hold_until"]) == ("lapsed", "too_near", None), (
        f"pass {summary}; opening {lapsed}; {server_clock(clinic)}; the test's clock {clinic.clock.now()}"
    )
    # R39: the entry waits until its session's local day begins, and the first pass that day closes it
    assert read(clinic, f"/v1/waitlist/{entry['id']}")["status"] == "waiting"
    clinic.clock.to(at_local(monday + timedelta(days=28), "00:00") + timedelta(seconds=1))
    clinic.dispatch()
    closed = read(clinic, f"/v1/waitlist/{entry['id']}")
    assert (closed["status"], closed["close_reason"]) == ("closed", "session_day")


# --- R43, R44: the hold, and the first accept --------------------------------------------------------------


def test_r43_a_held_time_refuses_the_desk_with_slot_held_and_the_first_accept_gets_it(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    it = offered(clinic, prac, monday)
    maria, first, second, other, span, opening = it.maria, it.first, it.second, it.other, it.span, it.opening
    assert len(offers_of(clinic, opening)) == 2
    held = opening_now(clinic, opening)
    assert held["hold_until"] is not None

    move = clinic.staff.post(f"/v1/sessions/{other['sessions'][1]['id']}/reschedule", json={"start": span["start"]})
    refused = assert_problem(move, 409)
    assert (refused["code"], refused["opening_id"], instant(refused["hold_until"])) == (
        "slot_held",
        opening["id"],
        instant(held["hold_until"]),
    )
    # every planner counts it busy: a preview or a booking asking for that time is planned around it, free
    # slots skip it
    day = span["start"][:10]
    asked = course_request(unreachable(clinic), prac, start_date=day, preferred_time="09:00", session_count=1)
    preview = clinic.staff.post("/v1/courses/preview", json=asked)
    assert preview.status_code == 200, preview.text
    booking = created(clinic.staff.post("/v1/courses", json=asked))
    assert not overlaps(preview.json()["sessions"][0], span) and not overlaps(booking["sessions"][0], span)
    slots = read(clinic, f"/v1/practitioners/{prac['id']}/free-slots?from={day}&to={day}")["items"]
    assert slots and not any(overlaps(slot, span) for slot in slots)

    made = {o["entry_id"]: o for o in offers_of(clinic, opening)}
    won = clinic.staff.post(f"/v1/waitlist/offers/{made[first['id']]['id']}/accept")
    assert won.status_code == 200, won.text
    assert (instant(won.json()["session"]["start"]), won.json()["moved"]) == (instant(span["start"]), [])
    late = clinic.staff.post(f"/v1/waitlist/offers/{made[second['id']]['id']}/accept")
    assert assert_problem(late, 409)["code"] == "offer_taken"
    assert opening_now(clinic, opening)["status"] == "filled"
    assert read(clinic, f"/v1/waitlist/{first['id']}")["status"] == "fulfilled"
    assert read(clinic, f"/v1/waitlist/{second['id']}")["status"] == "waiting"  # they keep their time
    assert {o["entry_id"]: o["status"] for o in offers_of(clinic, opening)} == {
        first["id"]: "accepted",
        second["id"]: "taken",
    }
    notices = read(clinic, f"/v1/reminders?kind=change_notice&patient_id={maria['id']}")["items"]
    assert [n["status"] for n in notices] == ["pending"]  # the patient hears of the new time


def test_r43_a_hold_ends_at_hold_until_for_the_desk_and_free_slots_without_a_pass(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    it = offered(clinic, prac, monday, batch_size=1, hold_minutes=15)
    other, span, opening = it.other, it.span, it.opening
    hold_until = instant(opening_now(clinic, opening)["hold_until"])
    day = span["start"][:10]

    def span_free() -> bool:
        slots = read(clinic, f"/v1/practitioners/{prac['id']}/free-slots?from={day}&to={day}")["items"]
        return any(instant(slot["start"]) == instant(span["start"]) for slot in slots)

    def move_into_the_span() -> httpx.Response:
        return clinic.staff.post(f"/v1/sessions/{other['sessions'][1]['id']}/reschedule", json={"start": span["start"]})

    clinic.clock.to(hold_until - timedelta(minutes=1))
    refused = assert_problem(move_into_the_span(), 409)
    assert (refused["code"], refused["opening_id"]) == ("slot_held", opening["id"])
    assert not span_free()
    clinic.clock.to(hold_until + timedelta(minutes=1))  # no dispatch pass in between
    assert span_free()
    moved = move_into_the_span()
    assert moved.status_code == 200, moved.text
    assert instant(moved.json()["session"]["start"]) == instant(span["start"])
    clinic.dispatch()  # the pass still ends the batch; the time is gone now
    lapsed = opening_now(clinic, opening)
    assert (lapsed["status"], lapsed["end_reason"], lapsed["hold_until"]) == ("lapsed", "taken", None)
    assert [o["status"] for o in offers_of(clinic, opening)] == ["expired"]


# --- R45: the next batch, the lapse, the withdrawal ---------------------------------------------------------


def test_r45_when_a_hold_ends_unanswered_the_next_pass_offers_the_next_patient_then_the_opening_lapses(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    it = offered(clinic, prac, monday, batch_size=1, hold_minutes=15)
    maria, first, jonas, second, opening = it.maria, it.first, it.jonas, it.second, it.opening
    assert [(o["entry_id"], o["status"]) for o in offers_of(clinic, opening)] == [(first["id"], "open")]  # first come
    assert clinic.offered_to(maria, jonas) == [maria["phone"]]
    hold_until = instant(opening_now(clinic, opening)["hold_until"])

    clinic.clock.to(hold_until - timedelta(minutes=1))
    clinic.dispatch()
    assert len(offers_of(clinic, opening)) == 1  # still held for Maria
    clinic.clock.to(hold_until + timedelta(seconds=1))
    clinic.dispatch()
    assert {o["entry_id"]: o["status"] for o in offers_of(clinic, opening)} == {
        first["id"]: "expired",
        second["id"]: "open",
    }
    assert clinic.offered_to(maria, jonas) == [maria["phone"], jonas["phone"]]
    expired = {o["entry_id"]: o for o in offers_of(clinic, opening)}[first["id"]]
    too_late = assert_problem(clinic.staff.post(f"/v1/waitlist/offers/{expired['id']}/accept"), 409)
    assert (too_late["code"], too_late["current_status"]) == ("conflict", "expired")  # Maria keeps her time
    again = opening_now(clinic, opening)
    assert instant(again["hold_until"]) > hold_until  # held again, for Jonas

    clinic.clock.to(instant(again["hold_until"]) + timedelta(seconds=1))
    clinic.dispatch()  # nobody left who was not offered it: never the same patient twice
    lapsed = opening_now(clinic, opening)
    assert (lapsed["status"], lapsed["end_reason"], lapsed["hold_until"]) == ("lapsed", "no_eligible_entry", None)
    assert sorted(o["status"] for o in offers_of(clinic, opening)) == ["expired", "expired"]
    assert clinic.offered_to(maria, jonas) == [maria["phone"], jonas["phone"]]
    assert [read(clinic, f"/v1/waitlist/{e['id']}")["status"] for e in (first, second)] == ["waiting", "waiting"]


def test_r45_staff_withdraw_an_opening_its_open_offers_end_and_its_hold_goes(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    it = offered(clinic, prac, monday)
    maria, jonas, other, span, opening = it.maria, it.jonas, it.other, it.span, it.opening
    made = offers_of(clinic, opening)
    assert sorted(o["status"] for o in made) == ["open", "open"]

    url = f"/v1/waitlist/openings/{opening['id']}"
    etag = clinic.staff.get(url).headers["ETag"]
    withdrawn = clinic.staff.post(
        f"{url}/withdraw", json={"reason": "kept for an emergency"}, headers={"If-Match": etag}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    ended = withdrawn.json()
    assert (ended["status"], ended["end_reason"], ended["hold_until"]) == ("withdrawn", "kept for an emergency", None)
    assert sorted(o["status"] for o in offers_of(clinic, opening)) == ["withdrawn", "withdrawn"]
    late = clinic.staff.post(f"/v1/waitlist/offers/{made[0]['id']}/accept")
    ended_offer = assert_problem(late, 409)  # it has ended, the booking is unchanged
    assert (ended_offer["code"], ended_offer["current_status"]) == ("conflict", "withdrawn")
    assert read(clinic, f"/v1/waitlist/{made[0]['entry_id']}")["status"] == "waiting"
    # the hold is gone: the desk may use the time now
    move = clinic.staff.post(f"/v1/sessions/{other['sessions'][1]['id']}/reschedule", json={"start": span["start"]})
    assert move.status_code == 200, move.text
    clinic.clock.forward(minutes=20)
    clinic.dispatch()
    assert len(clinic.offered_to(maria, jonas)) == 2  # nothing offered again
    assert assert_problem(clinic.staff.post(f"{url}/withdraw", json={"reason": "again"}), 409)["code"] == "conflict"


# --- R42: ranking -------------------------------------------------------------------------------------------


def test_r42_candidates_urgent_first_then_fewer_offers_in_the_last_30_days_then_first_come(
    clinic: Clinic, monday: date, prac: dict[str, Any]
) -> None:
    _, early = waiting(clinic, prac, monday, "10:00")
    _, late = waiting(clinic, prac, monday, "11:00")
    _, urgent = waiting(clinic, prac, monday, "12:00", priority="urgent")
    opening = open_by_hand(clinic, prac, friday(monday))

    def ranked() -> list[str]:
        found = clinic.staff.get(f"/v1/waitlist/openings/{opening['id']}/candidates")
        assert found.status_code == 200, found.text
        assert [c["rank"] for c in found.json()] == list(range(1, len(found.json()) + 1))
        return [c["entry_id"] for c in found.json()]

    assert ranked() == [urgent["id"], early["id"], late["id"]]
    # another opening offered to `early`, then withdrawn: that offer counts against them for 30 days
    other = open_by_hand(clinic, prac, friday(monday, "14:00"))
    offered_at = clinic.clock.now()
    made = clinic.staff.post(f"/v1/waitlist/openings/{other['id']}/offers", json={"entry_ids": [early["id"]]})
    assert made.status_code == 201, made.text
    withdrawn = clinic.staff.post(f"/v1/waitlist/openings/{other['id']}/withdraw", json={"reason": "kept"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert ranked() == [urgent["id"], late["id"], early["id"]]
    clinic.clock.to(offered_at + timedelta(days=30, minutes=-1))
    assert ranked() == [urgent["id"], late["id"], early["id"]]
    clinic.clock.to(offered_at + timedelta(days=30, minutes=1))  # the offer is older than 30 days now
    assert ranked() == [urgent["id"], early["id"], late["id"]]
