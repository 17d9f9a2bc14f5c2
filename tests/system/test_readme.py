"""The README as a newcomer meets it: its ```sh blocks pasted in order into bash against a fresh `make run`.

On a new database (twice in a row, on the same server) and on one `prolo demo` filled first, each
block's output must show what the text around it says: the dates, the statuses, the 201, 304 and
412, the replayed header. Without a key, or with a wrong one, the blocks say so instead of printing
a Python traceback. The clock is real: the example's courses are in 2032, and its last part books a
session for today wherever and whenever it runs.

Like `make run`, this is about the embedded default, so it runs on SQLite only, whatever
PROLO_TEST_DATABASE_URL says.
"""

import json
import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.store.db import make_engine
from models import Role
from scheduling.messages import day_text
from tests.api.handout_reading import appointment_rows
from tests.conftest import make_key
from tests.system.conftest import REPO, REQUEST_TIMEOUT_SECONDS, Server, clean_env, start_server
from tests.system.test_cli import prolo

pytestmark = pytest.mark.system

README = REPO / "README.md"
FENCES = {"sh", "console", "text"}  # ```sh is pasted; the others never are (the README's source says so)
API_LINE = "API=http://127.0.0.1:8000/v1"  # the one place the example names make run's port
KEY_LINE = re.compile(r"^KEY=\$\(.*prolo api-keys create.*\)$", re.MULTILINE)
PASTE_TIMEOUT_SECONDS = 180  # every block together takes about 15 s
BERLIN = ZoneInfo("Europe/Berlin")
# The course as the README tells it: 09:00 in Berlin, winter time for two sessions, then summer time.
BOOKED = [
    "2032-03-01T08:00:00Z",
    "2032-03-15T08:00:00Z",
    "2032-03-30T07:00:00Z",  # 29 March is Easter Monday, a Bavarian holiday
    "2032-04-13T07:00:00Z",
    "2032-04-27T07:00:00Z",
    "2032-05-11T07:00:00Z",
]
MOVED = {3: "2032-04-07T07:00:00Z", 4: "2032-04-21T07:00:00Z", 5: "2032-05-05T07:00:00Z", 6: "2032-05-19T07:00:00Z"}
# The follow-up calls: day 3 after each session, or the next open day (Easter Monday, weekends).
CALLS = [
    date(2032, 3, 4),
    date(2032, 3, 30),
    date(2032, 4, 12),
    date(2032, 4, 26),
    date(2032, 5, 10),
    date(2032, 5, 24),
]


def fences() -> list[tuple[str, str]]:
    """Every fenced block of the README: (language, text)."""
    blocks: list[tuple[str, str]] = []
    language: str | None = None
    lines: list[str] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        fence = line.lstrip().startswith("```")  # in a list item too, indented
        if fence and language is None:
            language, lines = line.lstrip()[3:].strip(), []
        elif fence:
            assert language is not None
            blocks.append((language, "\n".join(lines)))
            language = None
        elif language is not None:
            lines.append(line)
    assert language is None, "a fence is never closed"
    return blocks


def pasted_blocks(port: int) -> list[str]:
    """The ```sh blocks, in order, with make run's port where the example names it once."""
    blocks = [text for language, text in fences() if language == "sh"]
    assert sum(block.count(API_LINE) for block in blocks) == 1
    return [block.replace(API_LINE, API_LINE.replace("8000", str(port))) for block in blocks]


@dataclass
class Run:
    """One paste of every block into a new bash, and what each block printed."""

    outputs: list[str]
    number: int  # 1 for the first run on this database, 2 for the second
    demo: bool
    port: int
    tmp: Path
    ids: dict[str, str] = field(default_factory=dict)

    def lines(self, block: int) -> list[str]:
        return [line for line in self.outputs[block].splitlines() if line.strip()]

    def answers(self, block: int) -> list[Any]:
        """The block's JSON answers, one a line, in order (other lines skipped)."""
        return [json.loads(line) for line in self.lines(block) if line.startswith(("{", "["))]


def paste(blocks: list[str], *, env: dict[str, str], tmp: Path) -> list[str]:
    """Run the blocks in one new bash, as pasted one after the other; the output of each (stderr too).

    Bash leads a process group of its own: a block that never ends (a follower's endless loop)
    is stopped with every command it started, and the test fails instead of hanging.
    """
    marker = "@@@ the README block ends here @@@"
    script = tmp / "pasted.sh"
    script.write_text("".join(f"{block}\nprintf '\\n%s\\n' '{marker}'\n" for block in blocks), encoding="utf-8")
    with subprocess.Popen(
        ["bash", "--noprofile", "--norc", str(script)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # where a terminal shows it: beside the block's answers
        start_new_session=True,
    ) as shell:
        try:
            stdout, _ = shell.communicate(timeout=PASTE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            stdout, _ = shell.communicate()
            raise AssertionError(
                f"the pasted blocks did not end in {PASTE_TIMEOUT_SECONDS} s:\n{stdout[-3000:]!r}"
            ) from None
    printed = stdout.decode("utf-8", errors="replace")  # as bytes: HTTP heads keep their CRLF
    outputs = printed.split(f"\n{marker}\n")
    assert len(outputs) == len(blocks) + 1 and outputs[-1] == "", printed[-3000:]
    return outputs[:-1]


@dataclass
class Example:
    """A fresh `make run` on its own database, and the shell the README's blocks are pasted into."""

    server: Server
    env: dict[str, str]
    tmp: Path
    demo: bool
    runs: int = 0

    def run(self, blocks: list[str] | None = None) -> Run:
        outputs = paste(blocks or pasted_blocks(self.server.port), env=self.env, tmp=self.tmp)
        self.runs += 1
        assert "Traceback" not in "".join(outputs), "".join(outputs)
        return Run(outputs, self.runs, self.demo, self.server.port, self.tmp)

    def client(self) -> httpx.Client:
        engine = make_engine(self.env["PROLO_DATABASE_URL"])
        key = make_key(engine, Role.admin, "README test")
        engine.dispose()
        return httpx.Client(
            base_url=self.server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT_SECONDS
        )


def start(tmp: Path, *, demo: bool) -> Iterator[Example]:
    database = f"sqlite:///{tmp / 'prolo.db'}"
    env = clean_env(PROLO_DATABASE_URL=database, TMPDIR=str(tmp))
    if demo:
        assert "is ready" in prolo("demo", cwd=tmp, PROLO_DATABASE_URL=database).stdout
    server = start_server(
        ["make", "--no-print-directory", "run"],
        env=env,
        cwd=REPO,
        logs=tmp / "logs",
        port_arguments=lambda port: [f"PORT={port}"],
        group=True,
    )
    try:
        yield Example(server=server, env=env, tmp=tmp, demo=demo)
    finally:
        server.stop()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Example]:
    yield from start(tmp_path, demo=False)


@pytest.fixture
def after_demo(tmp_path: Path) -> Iterator[Example]:
    yield from start(tmp_path, demo=True)


# --- what each block's text says, block by block ------------------------------------------------


def setup(run: Run) -> None:
    """The clinic, the holidays (none made twice), the practitioner and the patient found or made."""
    clinic, imported = run.answers(0)
    assert (clinic["name"], clinic["timezone"]) == ("Isar Prolotherapy", "Europe/Berlin")
    assert [h["weekday"] for h in clinic["opening_hours"]] == ["mon", "tue", "wed", "thu", "fri"]
    if run.number == 1:
        assert len(imported["items"]) == 12
        assert {"start_date": "2032-03-29", "end_date": "2032-03-29", "reason": "Easter Monday"} in [
            {k: v for k, v in closure.items() if k != "id"} for closure in imported["items"]
        ]
    else:
        assert imported == {"items": []}  # importing twice makes none twice
    found = re.fullmatch(r"Dr\. Okafor is (\S+), Maria Keller is (\S+)", run.lines(0)[-1])
    assert found, run.outputs[0]
    run.ids.update(practitioner=found[1], patient=found[2])


def booking(run: Run) -> None:
    """The preview and the course hold the sessions the text lists; the day view shows Maria at 09:00."""
    preview, course, day = run.answers(1)
    for answer in (preview, course):
        assert [s["start"] for s in answer["sessions"]] == BOOKED
        assert {s["start_local"][11:] for s in answer["sessions"]} == {"09:00:00+01:00", "09:00:00+02:00"}
    assert course["status"] == "planned" and course["patient_id"] == run.ids["patient"]
    assert [(s["number"], s["start_local"]) for s in day["items"]] == [(1, "2032-03-01T09:00:00+01:00")]
    assert day["items"][0]["course_id"] == course["id"]
    run.ids["course"] = course["id"]
    run.ids["session 2"] = course["sessions"][1]["id"]


def moving(run: Run) -> None:
    """Session 2 to 24 March, the later sessions reflowed; its follow-up call on Tuesday 30 March."""
    dry_run, done, calls = run.answers(2)
    assert dry_run == done
    session = done["session"]
    assert (session["id"], session["number"], session["start"]) == (run.ids["session 2"], 2, "2032-03-24T08:00:00Z")
    assert (session["previous_start"], session["change_reason"]) == ("2032-03-15T08:00:00Z", "Patient away")
    assert {s["number"]: s["start"] for s in done["moved"]} == MOVED
    (call,) = calls["items"]
    assert (call["audience"], call["channel"], call["due_local"]) == ("clinic", "outbox", "2032-03-30T09:00:00+02:00")


def calendar(run: Run) -> None:
    """The secret URL, the feed's sessions at 09:00 local and its all-day events, then 304."""
    url, *feed, status = run.lines(3)
    assert re.fullmatch(rf"http://127\.0\.0\.1:{run.port}/v1/calendar/[A-Za-z0-9_-]{{20,}}\.ics", url)
    assert status == "304"
    events = list(zip(feed[::2], feed[1::2], strict=True))  # (SUMMARY, DTSTART) of each event
    booked = [start for title, start in events if title.startswith("SUMMARY:Session ")]
    expected = ["20320301T090000", "20320324T090000", *(f"2032{m[5:7]}{m[8:10]}T090000" for m in MOVED.values())]
    assert booked[-6:] == [f"DTSTART;TZID=Europe/Berlin:{local}" for local in expected]
    days: dict[str, list[date]] = {}
    for title, start in events:
        if start.startswith("DTSTART;VALUE=DATE:"):
            days.setdefault(title.removeprefix("SUMMARY:"), []).append(date.fromisoformat(start.rsplit(":", 1)[1]))
    assert days["No anti-inflammatory painkillers (NSAIDs)"][0] == date(2032, 3, 1)
    assert days["The clinic calls to check on you"] == CALLS
    cancelled = [title for title, _ in events if title.startswith("SUMMARY:Cancelled: ")]
    assert bool(cancelled) == (run.number > 1)  # the first run's course, on a second run


def fhir(run: Run) -> None:
    counts = {line.split()[1]: int(line.split()[0]) for line in run.lines(4)}
    assert {k: v for k, v in counts.items() if k != "CommunicationRequest"} == {
        "Appointment": 6,
        "CarePlan": 1,
        "Organization": 1,
        "Patient": 1,
        "Practitioner": 1,
    }
    assert counts["CommunicationRequest"] > 6


def handout(run: Run) -> None:
    """Written outside the repository; its "We call you" column says the reminders' days."""
    path = run.tmp / "handout.html"
    assert run.lines(5) == [f"open {path} in a browser and print it"]
    assert not (REPO / "handout.html").exists()
    rows = appointment_rows(path.read_text(encoding="utf-8"))
    assert [row["We call you"] for row in rows] == [day_text(day, with_year=False) for day in CALLS]
    assert [row["Date and time"] for row in rows[:2]] == ["Mon 1 Mar 2032, 09:00", "Wed 24 Mar 2032, 09:00"]


def retry(run: Run) -> None:
    """The same booking with the same key: the first answer again, replayed; still one planned course."""
    head, body = run.outputs[6].split("\r\n\r\n", 1)
    status, *headers = head.strip().split("\r\n")
    fields = dict(line.split(": ", 1) for line in headers)
    assert status == "HTTP/1.1 201 Created"
    assert fields["location"] == f"/v1/courses/{run.ids['course']}"
    assert fields["idempotent-replayed"] == "true"
    course, total = body.strip().splitlines()
    assert json.loads(course)["id"] == run.ids["course"]
    assert [s["start"] for s in json.loads(course)["sessions"]] == BOOKED  # as booked, before the move
    assert total == "1"


def if_match(run: Run) -> None:
    """The colleague's confirm: 200 and a new ETag; the cancel with the older ETag: 412, nothing cancelled."""
    confirmed, refused = run.outputs[7].strip().split("\nHTTP/1.1 ")
    assert confirmed.startswith("HTTP/1.1 200 OK") and refused.startswith("412 Precondition Failed")
    session = json.loads(confirmed.rsplit("\r\n\r\n", 1)[1])
    problem = json.loads(refused.rsplit("\r\n\r\n", 1)[1])
    new_etag = re.search(r"\r\netag: (\S+)\r\n", confirmed)
    assert session["status"] == "confirmed" and session["number"] == 3 and new_etag
    assert (problem["status"], problem["code"], problem["current_etag"]) == (412, "precondition_failed", new_etag[1])


def audit(run: Run) -> None:
    """The feed, oldest first, to the end: the example's own changes are in it."""
    events = [line.split() for line in run.lines(8)]  # at, the action (the CLI's has two words), table, id
    assert all(len(event) >= 4 and datetime.fromisoformat(event[0]) for event in events), run.outputs[8][:2000]
    seen = {(" ".join(action), entity_type, entity_id) for _, *action, entity_type, entity_id in events}
    assert ("book_course", "course", run.ids["course"]) in seen
    assert ("reschedule", "session", run.ids["session 2"]) in seen
    assert ("put_clinic", "clinic", "1") in seen


def a_sessions_day(run: Run) -> None:
    """Booked for today, confirmed, checked in, completed; 409; replaced; restrictions; summary; Berlin again."""
    clinic, confirmed, checked_in, completed, again, cancelled, restrictions, summary, back = run.answers(9)
    zone = ZoneInfo(clinic["timezone"])  # where it was 10 o'clock when the block ran, a few seconds ago
    assert [h["weekday"] for h in clinic["opening_hours"]] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    start = datetime.fromisoformat(confirmed["start_local"])
    today = start.date()
    assert start.utcoffset() == datetime.now(zone).utcoffset() and time(10) <= start.time() <= time(11)
    assert today in {(datetime.now(zone) - timedelta(minutes=m)).date() for m in (0, 15)}
    assert [s["status"] for s in (confirmed, checked_in, completed)] == ["confirmed", "checked_in", "completed"]
    assert completed["record"]["pain_before"] == 6
    assert (again["status"], again["current_status"]) == (409, "completed")
    assert cancelled["session"]["status"] == "cancelled" and cancelled["replacement"]["number"] == 7
    in_force = {r["rule_code"]: (r["from"], r["until"]) for r in restrictions["restrictions"]}
    assert restrictions["on"] == today.isoformat()
    assert in_force == {
        "avoid_nsaids": (today.isoformat(), (today + timedelta(days=4)).isoformat()),
        "expect_symptoms": (today.isoformat(), (today + timedelta(days=2)).isoformat()),
    }
    assert (summary["completed"], summary["remaining"], summary["next_session"]["number"]) == (1, 5, 3)
    assert summary["pain_trend"] == [{"number": 1, "pain_before": 6}]
    assert back["timezone"] == "Europe/Berlin" and len(back["opening_hours"]) == 5


CHECKS: list[Callable[[Run], None]] = [
    setup,
    booking,
    moving,
    calendar,
    fhir,
    handout,
    retry,
    if_match,
    audit,
    a_sessions_day,
]


def check(run: Run) -> None:
    assert len(run.outputs) == len(CHECKS), "a ```sh block was added or removed: say here what it shows"
    for block, what_it_says in enumerate(CHECKS):
        try:
            what_it_says(run)
        except (AssertionError, LookupError, ValueError) as failure:
            raise AssertionError(
                f"README block {block} ({what_it_says.__name__}), run {run.number}:\n{run.outputs[block][-4000:]}"
            ) from failure


# --- the tests ------------------------------------------------------------------------------------


def test_readme_fences_are_pasted_sh_or_never_pasted_console_and_text() -> None:
    languages = [language for language, _ in fences()]
    assert set(languages) <= FENCES, languages
    pasted = [line.strip() for language, text in fences() if language == "sh" for line in text.splitlines()]
    assert not [line for line in pasted if line.startswith("make ")]  # make run and make test are run on their own
    source_note = README.read_text(encoding="utf-8").split("<!--", 1)[1].split("-->", 1)[0]
    assert "```sh blocks are the worked example" in source_note and "never pasted" in source_note


def test_readme_example_pasted_twice_on_a_fresh_database(fresh: Example) -> None:
    first = fresh.run()
    check(first)
    second = fresh.run()
    check(second)
    assert (second.ids["practitioner"], second.ids["patient"]) == (first.ids["practitioner"], first.ids["patient"])
    with fresh.client() as http:
        practitioners = http.get("/v1/practitioners", params={"name": "Dr. Amara Okafor"}).json()
        patients = http.get("/v1/patients", params={"q": "MRN-004211"}).json()
        courses = http.get("/v1/courses", params={"patient_id": first.ids["patient"], "limit": 50}).json()
    assert practitioners["total"] == 1 and patients["total"] == 1  # found again, never made twice
    statuses = {c["id"]: c["status"] for c in courses["items"]}
    assert statuses[first.ids["course"]] == "cancelled" and statuses[second.ids["course"]] == "planned"
    assert sorted(statuses.values()).count("planned") == 1


def test_readme_example_after_the_demo(after_demo: Example) -> None:
    check(after_demo.run())


def test_readme_example_without_a_key_says_so(fresh: Example) -> None:
    blocks = pasted_blocks(fresh.server.port)
    assert KEY_LINE.search(blocks[0])
    unset = fresh.run([KEY_LINE.sub("unset KEY", blocks[0]), *blocks[1:]])
    assert "api: KEY is empty; set it to an admin key first" in unset.outputs[0]
    assert "field id: no JSON answer to read" in unset.outputs[0]
    wrong = fresh.run([KEY_LINE.sub("KEY=prolo_not_a_key", blocks[0])])
    problems = wrong.answers(0)
    assert problems and all(p["status"] == 401 for p in problems), wrong.outputs[0]
