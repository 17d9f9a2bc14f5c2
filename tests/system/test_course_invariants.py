"""R3–R10 as invariants: generated sequences of staff actions on two courses, checked after every step.

A hypothesis state machine drives two courses of two patients with one practitioner
(so that they compete for her time) through the real app: reschedules (with and
without reflow, dry runs), cancellations (with and without a replacement), no-shows,
check-ins and completions, holds and resumes, a cancelled course, and time passing.
The test clock only moves forward. Every answer is 2xx, 409 or 422, never a 5xx;
after every step the stored state — read back through `GET /v1/courses` (the
database holds just these two) and `GET /v1/sessions` — must keep the rules:

- R5: at most one active session per patient per local day; no two active sessions
  of the practitioner overlap; active sessions lie inside opening hours.
- R4: two injections (active or completed sessions) of one course are never fewer than
  `min_interval_days` apart in local dates — counted in the order they happen, whatever
  their numbers: a completed session that took place before a reschedule target is an
  injection the week of acute inflammation follows.
- R8: numbers are exactly 1..n; a session keeps its id and number; a reschedule moves
  exactly the session and the `moved` it answers, to the times it answers; a dry run
  changes nothing and answers what the real reschedule then answers.
- R9: the course status follows its sessions (planned → active → completed), or is
  on_hold / cancelled after a successful hold / cancel; two no-shows flag needs_review;
  a course on hold or cancelled gets no appointment after the moment it stopped (a
  checked-in visit goes on); replacements and resumes never plan more injections than
  the course's `session_count`.
- R10: a session's status only changes along the allowed moves; a refused request
  (409/422) changes nothing.

Each example starts from the same snapshot (two booked courses) via `Database.restore()`.
Seeded and bounded, so CI always runs the same examples in a few seconds. One seed
explores a few hundred steps, not every path: the deterministic tests at the end are
minimal reproductions of each failure the machine found, and keep them fixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.api.helpers import book, patient, practitioner
from tests.conftest import DEFAULT_NOW, Clock, Database

pytestmark = pytest.mark.system

ZONE = ZoneInfo("Europe/Berlin")  # the `settings` fixture's clinic time zone
ACTIVE = frozenset({"scheduled", "confirmed", "checked_in"})
INJECTED = ACTIVE | {"completed"}
BOOKED = frozenset({"scheduled", "confirmed"})  # appointments still to come
# R10: every status change the API may make (a hold or a course cancel is a `cancel` of each session).
LEGAL_MOVES = frozenset(
    {
        ("scheduled", "confirmed"),
        ("scheduled", "checked_in"),
        ("confirmed", "checked_in"),
        ("checked_in", "completed"),
        ("scheduled", "cancelled"),
        ("confirmed", "cancelled"),
        ("scheduled", "no_show"),
        ("confirmed", "no_show"),
        ("checked_in", "no_show"),
    }
)
OPENING = (time(8, 0), time(17, 0))  # the default clinic: Monday to Friday
MIN_INTERVAL_DAYS = 7  # the default protocol (R4)
SESSION_MINUTES = 45
RECORD = {
    "injections": [{"site": "left sacroiliac ligament", "injectate": "dextrose 15%", "volume_ml": 6}],
    "pain_before": 6,
    "adverse_events": [],
}
PROBLEM_JSON = "application/problem+json"
ACCEPTED = frozenset({200, 201, 409, 422})

MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    database=None,  # no .hypothesis directory in the shared tree
    # No shrinking in CI: with HTTP steps it takes minutes. A failure prints its steps as found;
    # add Phase.shrink here locally to minimise them.
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


def local(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(ZONE)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@dataclass
class World:
    """What the machine drives: the app's client, its clock, and the snapshot every example starts from."""

    client: TestClient
    clock: Clock
    snapshot: Database
    practitioner_id: str
    course_ids: tuple[str, str]


@dataclass(frozen=True)
class Stored:
    """The state as the API shows it: both courses and the practitioner's day view."""

    courses: dict[str, dict[str, Any]]
    listed: list[dict[str, Any]]

    def sessions(self) -> dict[str, dict[str, Any]]:
        return {s["id"]: s for course in self.courses.values() for s in course["sessions"]}

    def course_sessions(self, course_id: str) -> list[dict[str, Any]]:
        return sorted(self.courses[course_id]["sessions"], key=lambda s: s["number"])


@dataclass(frozen=True)
class Target:
    """Where a reschedule aims: some days from a session (or from today), at a local time."""

    # "own": a session of the moving session's course; "injected": one of its completed or checked-in
    # sessions (where R4 bites); "other": a session of the other course (where R5 bites); "today"
    anchor: str
    pick: int  # which of those sessions, by number (injections: latest first), modulo how many there are
    days: int
    weekend: bool  # keep a weekend date (outside hours); else a weekend moves on to Monday
    at: time | None  # None: the anchor session's local time (for "other", a time that course holds)


grid_times = st.sampled_from([time(h, m) for h in range(7, 17) for m in (0, 15, 30, 45)])
any_time = st.builds(time, st.integers(7, 16), st.integers(0, 59))
course_index = st.sampled_from([0, 0, 1])  # mostly the first course; the second one competes


@dataclass(frozen=True)
class Pick:
    """Which session an action takes: the index-th of those it can apply to, or (wild) of all, to be refused."""

    index: int
    wild: bool


small = st.integers(0, 2) | st.integers(0, 7)  # the earliest ones (often past, still active) more often
picks = st.builds(Pick, index=small, wild=st.sampled_from([False, False, False, True]))
# The first active sessions: often one left unmarked in the past, before a later session that took place.
earliest_active = st.builds(Pick, index=st.integers(0, 1), wild=st.just(False))
no_weekend = st.sampled_from([False, False, False, True])
# Near one of its course's sessions, about an interval away (R3), or anywhere in the next months.
near_days = st.one_of(st.integers(-8, 8), st.sampled_from([-14, -7, 7, 13, 14, 15, 17]), st.integers(-10, 21))
anywhere = st.one_of(
    st.builds(Target, anchor=st.just("own"), pick=small, days=near_days, weekend=no_weekend, at=st.none()),
    st.builds(Target, anchor=st.just("own"), pick=small, days=near_days, weekend=no_weekend, at=grid_times | any_time),
    st.builds(
        Target, anchor=st.just("today"), pick=st.just(0), days=st.integers(0, 120), weekend=no_weekend, at=grid_times
    ),
)
# Days around an injection: R4 must refuse all closer than the minimum interval, whichever the session numbers.
near_an_injection = st.builds(
    Target, anchor=st.just("injected"), pick=small, days=st.integers(-7, 7), weekend=st.just(False),
    at=st.none() | grid_times,
)  # fmt: skip
# The other patient's time, or close to it: R5/R11 must refuse an overlap.
onto_the_other_course = st.builds(
    Target, anchor=st.just("other"), pick=small, days=st.sampled_from([0, 0, 0, -1, 1, 7, 14]),
    weekend=st.just(False), at=st.none() | grid_times,
)  # fmt: skip
how = st.fixed_dictionaries({"reflow": st.booleans(), "dry_run": st.booleans(), "then_commit": st.booleans()})


@dataclass
class Expect:
    """What the last action may change; everything else must stay as it was."""

    starts: dict[str, str] = field(default_factory=dict)  # session id → its new `start` (UTC)
    may_add: bool = False
    nothing: bool = False  # a refused request or a dry run


@seed(20270301)  # the same examples on every run: CI is reproducible
class CourseMachine(RuleBasedStateMachine):
    world: ClassVar[World | None] = None

    def __init__(self) -> None:
        super().__init__()
        assert CourseMachine.world is not None, "run by the test below, which sets the world up"
        self.w = CourseMachine.world
        self.w.snapshot.restore()
        self.w.clock.now = DEFAULT_NOW
        self.last_now = DEFAULT_NOW
        self.stopped_at: dict[str, tuple[str, datetime]] = {}  # course id → (on_hold|cancelled, since)
        self.state = self.fetch()

    # -- reading and checking -------------------------------------------------------------

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.w.client.request(method, path, json=body)
        assert response.status_code in ACCEPTED, f"{method} {path} {body} → {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
        return response

    def fetch(self) -> Stored:
        """Both courses (one list call: the database holds only these two) and the practitioner's sessions."""
        courses = self.w.client.get("/v1/courses", params={"limit": 10})
        assert courses.status_code == 200, courses.text
        by_id = {course["id"]: course for course in courses.json()["items"]}
        assert set(by_id) == set(self.w.course_ids)
        page = self.w.client.get("/v1/sessions", params={"practitioner_id": self.w.practitioner_id, "limit": 500})
        assert page.status_code == 200, page.text
        assert page.json()["total"] == len(page.json()["items"])
        return Stored(courses=by_id, listed=page.json()["items"])

    def observe(self, expect: Expect) -> None:
        """Read the state after an action and check what changed against what the action may change."""
        assert self.w.clock.now >= self.last_now, "the test clock only moves forward"
        self.last_now = self.w.clock.now
        before, after = self.state, self.fetch()
        self.state = after
        if expect.nothing:
            assert after == before, "a refused request or a dry run changed the stored state"
            return
        old, new = before.sessions(), after.sessions()
        assert set(old) <= set(new), f"sessions disappeared: {set(old) - set(new)}"
        if not expect.may_add:
            assert set(new) == set(old), f"sessions appeared: {set(new) - set(old)}"
        for session_id, was in old.items():
            now = new[session_id]
            assert (now["number"], now["course_id"]) == (was["number"], was["course_id"]), "R8: id and number kept"
            if now["status"] != was["status"]:
                move = (was["status"], now["status"])
                assert move in LEGAL_MOVES, f"R10: session {was['number']} went {move[0]} → {move[1]}"
            assert now["start"] == expect.starts.get(session_id, was["start"]), (
                f"session {was['number']} moved from {was['start_local']} to {now['start_local']}"
                f" (expected {expect.starts.get(session_id, was['start'])})"
            )

    def session(self, course: int, pick: Pick, fits: Callable[[dict[str, Any]], bool] = lambda _: True) -> Any:
        """The picked session of a course, among those `fits` (unless the pick is wild or none fits)."""
        sessions = self.state.course_sessions(self.w.course_ids[course])
        fitting = [s for s in sessions if fits(s)]
        choice = sessions if pick.wild or not fitting else fitting
        return choice[pick.index % len(choice)]

    def today(self) -> date:
        return self.w.clock.now.astimezone(ZONE).date()

    def advance(self, to: datetime) -> None:
        """Move the clock to `to` if that is later; never back."""
        self.w.clock.now = max(self.w.clock.now, to)

    # -- staff actions --------------------------------------------------------------------

    @rule(course=course_index, pick=picks, to=anywhere, how=how)
    def reschedule(self, course: int, pick: Pick, to: Target, how: dict[str, bool]) -> None:
        self.move(course, pick, to, **how)

    @rule(course=course_index, pick=earliest_active, to=near_an_injection, how=how)
    def reschedule_next_to_an_injection(self, course: int, pick: Pick, to: Target, how: dict[str, bool]) -> None:
        self.move(course, pick, to, **how)

    @rule(course=course_index, pick=picks, to=onto_the_other_course, how=how)
    def reschedule_onto_the_other_course(self, course: int, pick: Pick, to: Target, how: dict[str, bool]) -> None:
        self.move(course, pick, to, **how)

    def move(self, course: int, pick: Pick, to: Target, *, reflow: bool, dry_run: bool, then_commit: bool) -> None:
        """POST /reschedule (R8); a dry run is checked to write nothing, then maybe done for real."""
        moving = self.session(course, pick, lambda s: s["status"] in ACTIVE)
        if to.anchor == "today":
            day, at = self.today(), to.at or time(9)
        else:
            sessions = self.state.course_sessions(self.w.course_ids[1 - course if to.anchor == "other" else course])
            if to.anchor == "injected":  # the latest injections first
                done = [s for s in sessions if s["status"] in {"checked_in", "completed"}]
                sessions = sorted(done, key=lambda s: s["start"], reverse=True) or sessions
            anchor = local(sessions[to.pick % len(sessions)]["start"])
            day, at = anchor.date(), to.at or anchor.time()
        day += timedelta(days=to.days)
        if not to.weekend and day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        start = datetime.combine(day, at, ZONE)
        body = {"start": start.isoformat(), "reflow": reflow, "dry_run": dry_run, "reason": "generated"}
        path = f"/v1/sessions/{moving['id']}/reschedule"
        answer = self.call("POST", path, body)
        if dry_run:
            self.observe(Expect(nothing=True))
            if not then_commit:
                return
            real = self.call("POST", path, {**body, "dry_run": False})
            assert real.status_code == answer.status_code, f"R8: dry run {answer.text}, then {real.text}"
            if real.status_code == 200:
                assert real.json() == answer.json(), "R8: a dry run answers what the reschedule does"
            answer = real
        if answer.status_code != 200:
            self.observe(Expect(nothing=True))
            return
        done = answer.json()
        assert done["session"]["id"] == moving["id"]
        assert datetime.fromisoformat(done["session"]["start"]) == start, "R8: the session goes where staff put it"
        assert moving["id"] not in {m["id"] for m in done["moved"]}
        self.observe(Expect(starts={s["id"]: s["start"] for s in [done["session"], *done["moved"]]}))
        for reported in [done["session"], *done["moved"]]:
            assert self.state.sessions()[reported["id"]] == reported, "the answer is what was stored"

    @rule(course=course_index, pick=picks, replace=st.booleans())
    def cancel(self, course: int, pick: Pick, replace: bool) -> None:
        target = self.session(course, pick, lambda s: s["status"] in {"scheduled", "confirmed"})
        answer = self.call("POST", f"/v1/sessions/{target['id']}/cancel", {"reason": "generated", "replace": replace})
        self.observe(Expect(may_add=replace, nothing=answer.status_code != 200))
        if answer.status_code == 200 and replace and answer.json()["replacement"] is not None:
            sessions = self.state.course_sessions(self.w.course_ids[course])
            assert answer.json()["replacement"]["number"] == sessions[-1]["number"], "R9: appended as n+1"

    @rule(course=course_index, pick=picks)
    def confirm(self, course: int, pick: Pick) -> None:
        target = self.session(course, pick, lambda s: s["status"] == "scheduled")
        answer = self.call("POST", f"/v1/sessions/{target['id']}/confirm")
        self.observe(Expect(nothing=answer.status_code != 200))

    @rule(course=course_index, pick=picks, late_minutes=st.integers(1, 600))
    def no_show(self, course: int, pick: Pick, late_minutes: int) -> None:
        target = self.session(course, pick, lambda s: s["status"] in ACTIVE)
        self.advance(utc(local(target["start"])) + timedelta(minutes=late_minutes))
        answer = self.call("POST", f"/v1/sessions/{target['id']}/no-show")
        self.observe(Expect(nothing=answer.status_code != 200))

    @rule(course=course_index, pick=picks, early_minutes=st.integers(0, 60), complete=st.booleans())
    def check_in_and_complete(self, course: int, pick: Pick, early_minutes: int, complete: bool) -> None:
        target = self.session(
            course, pick, lambda s: s["status"] in ACTIVE and local(s["start"]).date() >= self.today()
        )
        starts_at = local(target["start"])
        arrival = starts_at - timedelta(minutes=early_minutes)
        if arrival.date() == starts_at.date():  # only on the session's local day (R10)
            self.advance(utc(arrival))
        answer = self.call("POST", f"/v1/sessions/{target['id']}/check-in")
        self.observe(Expect(nothing=answer.status_code != 200))
        if complete:
            done = self.call("POST", f"/v1/sessions/{target['id']}/complete", RECORD)
            self.observe(Expect(nothing=done.status_code != 200))

    @rule(course=course_index)
    def hold(self, course: int) -> None:
        course_id = self.w.course_ids[course]
        answer = self.call("POST", f"/v1/courses/{course_id}/hold", {"reason": "generated"})
        self.observe(Expect(nothing=answer.status_code != 200))
        if answer.status_code == 200:
            self.stopped_at[course_id] = ("on_hold", self.w.clock.now)

    @rule(course=course_index, days=st.integers(0, 40), at=st.one_of(st.none(), grid_times))
    def resume(self, course: int, days: int, at: time | None) -> None:
        course_id = self.w.course_ids[course]
        body: dict[str, Any] = {"start_date": (self.today() + timedelta(days)).isoformat()}
        if at is not None:
            body["preferred_time"] = at.strftime("%H:%M")
        answer = self.call("POST", f"/v1/courses/{course_id}/resume", body)
        self.observe(Expect(may_add=True, nothing=answer.status_code != 200))
        if answer.status_code == 200:
            assert self.stopped_at.pop(course_id)[0] == "on_hold"

    @rule()
    def cancel_second_course(self) -> None:
        """The competing course ends; its future time is freed (R9)."""
        course_id = self.w.course_ids[1]
        answer = self.call("POST", f"/v1/courses/{course_id}/cancel", {"reason": "generated"})
        self.observe(Expect(nothing=answer.status_code != 200))
        if answer.status_code == 200:
            self.stopped_at[course_id] = ("cancelled", self.w.clock.now)

    @rule(hours=st.integers(1, 48) | st.integers(1, 24 * 21))
    def time_passes(self, hours: int) -> None:
        self.advance(self.w.clock.now + timedelta(hours=hours))
        self.observe(Expect(nothing=True))

    # -- the rules the stored state keeps ---------------------------------------------------

    @invariant()
    def the_day_view_and_the_courses_agree(self) -> None:
        assert {s["id"]: s for s in self.state.listed} == self.state.sessions()
        starts = [s["start"] for s in self.state.listed]
        assert starts == sorted(starts), "the day view is ordered by start"

    @invariant()
    def r8_numbers_are_one_to_n(self) -> None:
        for course_id in self.w.course_ids:
            numbers = [s["number"] for s in self.state.course_sessions(course_id)]
            assert numbers == list(range(1, len(numbers) + 1)), f"course numbers {numbers}"

    @invariant()
    def r5_one_active_session_per_patient_per_day(self) -> None:
        days = Counter((s["patient_id"], local(s["start"]).date()) for s in self.state.listed if s["status"] in ACTIVE)
        assert all(n == 1 for n in days.values()), f"a patient twice on one day: {days.most_common(1)}"

    @invariant()
    def r5_r11_the_practitioner_is_never_double_booked(self) -> None:
        spans = sorted((s["start"], s["end"], s["number"]) for s in self.state.listed if s["status"] in ACTIVE)
        for (_, end_a, number_a), (start_b, _, number_b) in pairwise(spans):
            assert end_a <= start_b, f"sessions {number_a} and {number_b} overlap: {spans}"

    @invariant()
    def r5_active_sessions_lie_inside_opening_hours(self) -> None:
        for s in self.state.listed:
            starts_at, ends_at = local(s["start"]), local(s["end"])
            assert ends_at - starts_at == timedelta(minutes=SESSION_MINUTES)
            if s["status"] in ACTIVE:
                assert starts_at.weekday() < 5, f"session {s['number']} on a weekend: {s['start_local']}"
                assert OPENING[0] <= starts_at.time() and ends_at.time() <= OPENING[1], s["start_local"]

    @invariant()
    def r4_injections_are_at_least_the_minimum_interval_apart(self) -> None:
        for course_id in self.w.course_ids:
            injections = sorted(
                (local(s["start"]).date(), s["number"], s["status"])
                for s in self.state.course_sessions(course_id)
                if s["status"] in INJECTED
            )
            for (day_a, number_a, status_a), (day_b, number_b, status_b) in pairwise(injections):
                assert (day_b - day_a).days >= MIN_INTERVAL_DAYS, (
                    f"R4: session {number_a} ({status_a}) on {day_a} and session {number_b} ({status_b})"
                    f" on {day_b} are {(day_b - day_a).days} days apart"
                )

    @invariant()
    def r9_a_course_never_plans_more_injections_than_its_count(self) -> None:
        """Replacements and resumes plan what is owed: the count less what is done or still booked."""
        for course in self.state.courses.values():
            injections = [s["number"] for s in course["sessions"] if s["status"] in INJECTED]
            assert len(injections) <= course["session_count"], f"R9: sessions {injections} of {course['session_count']}"

    @invariant()
    def r9_the_course_status_follows_its_sessions(self) -> None:
        for course_id in self.w.course_ids:
            course = self.state.courses[course_id]
            statuses = [s["status"] for s in course["sessions"]]
            if course_id in self.stopped_at:
                stopped, since = self.stopped_at[course_id]
                expected = stopped
                # a checked-in patient is in the chair: that visit goes on (R10), it is no new appointment
                late = [s for s in course["sessions"] if s["status"] in BOOKED and local(s["start"]) >= since]
                assert not late, f"R9: the {stopped} course has appointments after {since}: {late}"
            elif "completed" not in statuses:
                expected = "planned"
            else:
                expected = "active" if any(s in ACTIVE for s in statuses) else "completed"
            assert course["status"] == expected, f"R9: course is {course['status']}, sessions {statuses}"
            assert course["needs_review"] == (statuses.count("no_show") >= 2), "R9: two no-shows need review"


def test_r3_r10_invariants_hold_for_generated_staff_actions(
    client: TestClient, clock: Clock, clean_db: Database
) -> None:
    prac = practitioner(client)
    first = book(client, patient(client), prac)  # 6 sessions, Mondays 09:00 from 2027-03-01
    second = book(client, patient(client), prac, session_count=4)  # the same days, next to the first's times
    snapshot = Database(engine=clean_db.engine, url=clean_db.url, metadata=clean_db.tables())
    snapshot.snapshot()
    CourseMachine.world = World(
        client=client,
        clock=clock,
        snapshot=snapshot,
        practitioner_id=prac["id"],
        course_ids=(first["id"], second["id"]),
    )
    try:
        run_state_machine_as_test(CourseMachine, settings=MACHINE_SETTINGS)
    finally:
        CourseMachine.world = None


# ---------------------------------------------------------------------------
# What the machine found, as minimal reproductions (the clinic's first course: Mondays 09:00 from 2027-03-01).


def at(clock: Clock, iso: str) -> None:
    clock.now = datetime.fromisoformat(iso).astimezone(UTC)


def act(client: TestClient, session: dict[str, Any], action: str, body: dict[str, Any] | None = None) -> Any:
    answer = client.post(f"/v1/sessions/{session['id']}/{action}", json=body)
    assert answer.status_code < 500, answer.text
    return answer


def injections_apart(course: dict[str, Any]) -> list[int]:
    """Days between consecutive injections (active or completed sessions), in the order they happen."""
    days = sorted(local(s["start"]).date() for s in course["sessions"] if s["status"] in INJECTED)
    return [(b - a).days for a, b in pairwise(days)]


@pytest.mark.parametrize(
    "start", ["2027-03-15T09:00:00+01:00", "2027-03-15T11:00:00+01:00", "2027-03-19T09:00:00+01:00"]
)
@pytest.mark.parametrize("reflow", [True, False])
def test_r4_a_reschedule_keeps_the_minimum_interval_to_a_completed_session_numbered_after_it(
    client: TestClient, clock: Clock, start: str, reflow: bool
) -> None:
    """Session 1 was never marked; session 2 took place. Moving session 1 next to that injection breaks R4."""
    course = book(client, patient(client), practitioner(client))
    first, second = course["sessions"][:2]
    at(clock, second["start_local"])
    assert act(client, second, "check-in").status_code == 200
    assert act(client, second, "complete", RECORD).status_code == 200
    before = client.get(f"/v1/courses/{course['id']}").json()

    answer = act(client, first, "reschedule", {"start": start, "reflow": reflow})

    assert answer.status_code == 409, answer.text
    assert client.get(f"/v1/courses/{course['id']}").json() == before


@pytest.mark.parametrize("stop", ["hold", "cancel"])
def test_r10_holding_or_cancelling_a_course_never_cancels_a_checked_in_session(
    client: TestClient, clock: Clock, stop: str
) -> None:
    """checked_in → cancelled is no move of R10: the patient is in the chair (R9 stops *future* sessions)."""
    course = book(client, patient(client), practitioner(client))
    first = course["sessions"][0]
    at(clock, "2027-03-01T08:55:00+01:00")  # five minutes before session 1
    assert act(client, first, "check-in").status_code == 200

    answer = client.post(f"/v1/courses/{course['id']}/{stop}", json={"reason": "patient travelling"})

    assert answer.status_code in (200, 409), answer.text
    assert client.get(f"/v1/sessions/{first['id']}").json()["status"] == "checked_in"


def test_r4_resume_keeps_the_minimum_interval_after_a_session_still_active(client: TestClient, clock: Clock) -> None:
    """Held at noon after session 1 (still checked in), resumed the next day: the next injection waits a week."""
    course = book(client, patient(client), practitioner(client))
    first = course["sessions"][0]
    at(clock, "2027-03-01T09:00:00+01:00")
    assert act(client, first, "check-in").status_code == 200
    at(clock, "2027-03-01T12:00:00+01:00")
    assert client.post(f"/v1/courses/{course['id']}/hold", json={"reason": "flu"}).status_code == 200

    resumed = client.post(f"/v1/courses/{course['id']}/resume", json={"start_date": "2027-03-02"})
    assert resumed.status_code in (200, 409), resumed.text
    assert act(client, first, "complete", RECORD).status_code == 200

    after = client.get(f"/v1/courses/{course['id']}").json()
    assert min(injections_apart(after), default=MIN_INTERVAL_DAYS) >= MIN_INTERVAL_DAYS, after["sessions"]


@pytest.mark.parametrize(
    ("stop", "then"),
    [("cancel", "replace"), ("hold", "replace"), ("hold", "reschedule"), ("cancel", "reschedule")],
)
def test_r9_a_cancelled_or_held_course_gets_no_new_appointment(
    client: TestClient, clock: Clock, stop: str, then: str
) -> None:
    """Stopped at 10:00 on the day of session 1 (09:00, never marked): nothing may be booked after that."""
    course = book(client, patient(client), practitioner(client))
    first = course["sessions"][0]
    at(clock, "2027-03-01T10:00:00+01:00")
    assert client.post(f"/v1/courses/{course['id']}/{stop}", json={"reason": "patient moved"}).status_code == 200

    if then == "replace":
        answer = act(client, first, "cancel", {"reason": "did not come", "replace": True})
    else:
        answer = act(client, first, "reschedule", {"start": "2027-03-03T09:00:00+01:00"})

    assert answer.status_code in (200, 409), answer.text
    after = client.get(f"/v1/courses/{course['id']}").json()
    assert after["status"] == ("cancelled" if stop == "cancel" else "on_hold")
    late = [s for s in after["sessions"] if s["status"] in ACTIVE and utc(local(s["start"])) >= clock.now]
    assert late == [], f"a {after['status']} course has a new appointment"


def test_r8_r11_a_reflow_may_move_sessions_onto_each_others_old_times(client: TestClient) -> None:
    """Session 2 onto session 3's time: the reflow moves 3 onto 4's old time, 4 onto 5's, 5 onto 6's.

    The answer the dry run gives is what the reschedule must do; in between, rows of the
    same course overlap their old selves, which a check of the whole transaction allows.
    """
    course = book(client, patient(client), practitioner(client))
    second, third = course["sessions"][1:3]
    body = {"start": third["start"], "reflow": True}

    dry = act(client, second, "reschedule", {**body, "dry_run": True})
    done = act(client, second, "reschedule", body)

    assert dry.status_code == 200, dry.text
    assert done.status_code == 200, done.text
    assert done.json() == dry.json()
    assert [m["number"] for m in done.json()["moved"]] == [3, 4, 5, 6]
