"""The sync feed (issue 11, S7): a reader that follows `after` cursors sees every event exactly once.

`GET /v1/audit-events?after=CURSOR` hands out events oldest first. On SQLite writers take
turns, so event ids grow in commit order and the feed's order is the ids'. On PostgreSQL a
transaction that took lower ids may commit after one that took higher ids; the feed orders
by (transaction id, id) and holds back the events of transactions still running
(api/store/audit.py). Two tests:

- two raw transactions commit out of order while a reader follows the feed over HTTP
  (PostgreSQL only): the reader waits for the late one, then sees both, each once; a
  naive `id > last seen` reader loses the late one's events for ever;
- writers register, book and reschedule at a live server while a reader thread follows
  the feed, then drains it: every event in the table seen exactly once, in the feed's order.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, text

from api.services.practitioners import create_practitioner
from api.store.unit_of_work import UnitOfWork, writing
from models import Actor, PractitionerCreate
from tests.api import helpers
from tests.conftest import Database
from tests.system.conftest import CLINIC_TIMEZONE, REQUEST_TIMEOUT_SECONDS, LiveApi

pytestmark = pytest.mark.system

ZONE = ZoneInfo(CLINIC_TIMEZONE)
FEED = "/v1/audit-events"
# Bounds on waits that should end at once. On PostgreSQL the feed's horizon is the oldest
# transaction still running in the whole cluster, which another test run may hold a while.
SETTLE_SECONDS = 60.0
WRITERS = 4
ROUNDS = 4  # per writer: register a patient, book a course, reschedule its first session
PAGE = 7  # small pages, so the reader follows many cursors

Http = httpx.Client | TestClient


def wait_for(condition: Callable[[], bool], what: str, timeout: float = SETTLE_SECONDS) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:.0f}s for {what}")
        time.sleep(0.02)


def feed_page(http: Http, after: str | None, limit: int) -> dict[str, Any]:
    """One page of the feed after `after`."""
    params: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
    answer = http.get(FEED, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["limit"] == limit and len(body["items"]) <= limit, body
    return body


def table_ids(engine: Engine, order: str) -> list[int]:
    """Every committed event's id, straight from the table, in `order`."""
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(text(f"SELECT id FROM audit_event ORDER BY {order}")).scalars()]


# ---------------------------------------------------------------------------
# Out-of-order commits (PostgreSQL)


@contextmanager
def write_events(engine: Engine, name: str) -> Iterator[UnitOfWork]:
    """Two practitioners made in a transaction whose events' actor and action are named after it, committed
    when the block ends."""
    actor = Actor(id=None, name=f"feed test {name}", role="cli")
    with writing(engine, actor=actor, action=f"feed-test.{name}") as uow:
        for n in range(2):
            create_practitioner(uow=uow, values=PractitionerCreate(name=f"Dr. {name} {n}"))
        yield uow


def events_of(engine: Engine, name: str) -> tuple[list[int], set[int]]:
    """The committed events of transaction `name`: their ids, and the transaction ids they carry."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, txid FROM audit_event WHERE action = :a ORDER BY id"), {"a": f"feed-test.{name}"}
        ).all()
    return [int(r.id) for r in rows], {int(r.txid) for r in rows}


def naive_read(engine: Engine, last_seen: int) -> list[int]:
    """What a reader of `id > last seen` would be handed now, of the scenario's own transactions (`write_events`):
    another writer of the test database may commit during the scenario (seen once in CI on PostgreSQL: two
    events, ids below T1's, committed while T1 was open), and it is not what the scenario is about."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM audit_event WHERE id > :last AND action LIKE 'feed-test.%' ORDER BY id"),
            {"last": last_seen},
        )
        return [int(i) for i in found.scalars()]


def follow(http: Http, cursor: str | None, want: int, limit: int) -> tuple[list[int], str | None]:
    """Follow the feed from `cursor` until `want` events came and a page comes back empty; ids and cursor."""
    seen: list[int] = []
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        body = feed_page(http, cursor, limit)
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not body["items"] and len(seen) >= want:
            return seen, cursor
        if time.monotonic() > deadline:
            raise AssertionError(f"the feed handed out {seen} in {SETTLE_SECONDS:.0f}s; {want} events expected")
        if not body["items"]:
            time.sleep(0.02)


def test_a_transaction_that_commits_late_holds_the_feed_back_and_none_of_its_events_is_skipped(
    client: TestClient, clean_db: Database
) -> None:
    """T1 writes its events, then stalls just before its COMMIT reaches the database; T2 writes later
    events and commits; only then does T1 commit. A reader follows the feed throughout."""
    engine = clean_db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip(
            "out-of-order commits cannot happen on SQLite: writers hold the one write lock from BEGIN "
            "IMMEDIATE to COMMIT, so T2 cannot begin while T1 is open, and ids grow in commit order"
        )
    before, cursor = follow(client, None, 0, limit=100)  # the admin key's creation, and anything there already
    naive_last = max(before, default=0)

    t1_written, release_t1 = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def stall(_conn: Connection) -> None:  # T1's events are written (and its ids taken); COMMIT not yet sent
        t1_written.set()
        if not release_t1.wait(SETTLE_SECONDS):
            raise TimeoutError("T1 was never let commit")

    def run_t1() -> None:
        try:
            with write_events(engine, "T1") as t1:
                connection = t1.store_session.connection()
                event.listen(connection, "commit", stall)
            event.remove(connection, "commit", stall)
        except BaseException as exc:
            errors.append(exc)

    t1_thread = threading.Thread(target=run_t1)
    t1_thread.start()
    try:
        wait_for(lambda: t1_written.is_set() or bool(errors), "T1 to write its events")
        assert not errors, errors
        with write_events(engine, "T2"):
            pass
        t2_ids, _ = events_of(engine, "T2")
        assert len(t2_ids) == 2, t2_ids

        # While T1 runs, T2's events are held back behind T1's: the cursor stays where it was.
        for _ in range(3):
            body = feed_page(client, cursor, 1)
            assert body["items"] == [], f"the feed handed out {body['items']} while T1 was still open"
            assert body["next_cursor"] == cursor, "the cursor moved past a transaction still running"
        # A naive reader is handed T2's events now, and moves its cursor past them.
        naive_seen = naive_read(engine, naive_last)
        assert naive_seen == t2_ids
        naive_last = max(naive_seen)
    finally:
        release_t1.set()
        t1_thread.join(timeout=SETTLE_SECONDS)
    assert not t1_thread.is_alive(), "T1 never committed"
    assert not errors, errors
    t1_ids, t1_txids = events_of(engine, "T1")
    _, t2_txids = events_of(engine, "T2")
    assert len(t1_ids) == 2 and max(t1_ids) < min(t2_ids), "the scenario: T1 took its ids first, committed last"
    assert len(t1_txids) == len(t2_txids) == 1 and max(t1_txids) < min(t2_txids), "one transaction id each, T1's first"

    seen, cursor = follow(client, cursor, len(t1_ids) + len(t2_ids), limit=1)
    assert len(seen) == len(set(seen)), "no event twice"
    scenario = set(t1_ids + t2_ids)
    ours = [i for i in seen if i in scenario]  # another writer's events may come too (see naive_read)
    assert ours == t1_ids + t2_ids, "each event of T1 and T2 exactly once, T1's first (the feed's order)"
    assert feed_page(client, cursor, 100)["items"] == [], "nothing more behind the cursor"

    # Without the horizon, T1's events would be lost for ever: they sit behind the naive cursor.
    naive_seen += naive_read(engine, naive_last)
    assert naive_seen == t2_ids, "a naive `id > last seen` reader is handed nothing more"
    assert not set(t1_ids) & set(naive_seen) and all(i < naive_last for i in t1_ids), "it skipped T1's events"


# ---------------------------------------------------------------------------
# Writers running (both databases)


@dataclass
class Reader:
    """A front-desk copy that follows the feed: everything it was handed, in order."""

    http: httpx.Client
    cursor: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    last_id: int = 0  # the highest id seen so far

    def poll(self) -> int:
        body = feed_page(self.http, self.cursor, PAGE)
        self.seen += body["items"]
        self.cursor = body["next_cursor"]
        self.last_id = max([self.last_id, *(item["id"] for item in body["items"])])
        self.polls += 1
        return len(body["items"])


@dataclass
class Written:
    """What one writer made through the API: the rows whose events the feed must carry."""

    created: list[tuple[str, str]] = field(default_factory=list)  # (entity type, id)
    moved_sessions: list[str] = field(default_factory=list)


def next_year_monday() -> date:
    """A Monday in February next year: in the future for the server's real clock."""
    first = date(datetime.now(UTC).year + 1, 2, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def write_rounds(live_api: LiveApi, practitioner_id: str, halfway: Callable[[], None]) -> Written:
    """Register a patient, book a three-session course for them, move its session 1; ROUNDS times.

    Each writer has a practitioner of its own and books one week apart, so no write waits
    for a free slot and every one succeeds; on PostgreSQL they commit in any order.
    """
    written = Written()
    with live_api.client() as http:
        for week in range(ROUNDS):
            if week == ROUNDS // 2:
                halfway()
            patient = helpers.patient(http, family_name="Feed")
            monday = next_year_monday() + timedelta(weeks=week)
            course = helpers.book(
                http, patient, {"id": practitioner_id}, start_date=monday.isoformat(), session_count=3
            )
            first = course["sessions"][0]
            # Wednesday keeps R4 and session 2's window (as in test_reschedule_race.py)
            wednesday = datetime.combine(monday + timedelta(days=2), clock_time(11, 0), ZONE)
            moved = http.post(
                f"/v1/sessions/{first['id']}/reschedule", json={"start": wednesday.isoformat(), "reason": "feed test"}
            )
            assert moved.status_code == 200, moved.text
            written.created += [("patient", patient["id"]), ("course", course["id"])]
            written.created += [("session", s["id"]) for s in course["sessions"]]
            written.moved_sessions.append(first["id"])
    return written


def test_a_reader_following_the_feed_while_writers_run_sees_every_event_exactly_once(
    live_api: LiveApi, clean_db: Database
) -> None:
    engine = clean_db.engine
    with live_api.client() as http:
        practitioners = [str(helpers.practitioner(http, name=f"Dr. Writer {n}")["id"]) for n in range(WRITERS)]
    setup_last = max(table_ids(engine, "id"))

    reader = Reader(http=live_api.client())
    writers_done = threading.Event()
    expected_count: list[int] = []  # set once the writers are done: how many events the table holds
    drain_deadline = [0.0]  # and until when the reader may take to drain the feed
    errors: list[BaseException] = []

    def follow_feed() -> None:
        try:
            while True:
                got = reader.poll()
                if writers_done.is_set() and not got and len(reader.seen) >= expected_count[0]:
                    return  # drained: nothing more to come
                if writers_done.is_set() and time.monotonic() > drain_deadline[0]:
                    return  # the assertions below say what is missing
                if not got:
                    time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)

    def halfway() -> None:
        # Half the rounds are written: the reader must be following them while the rest are.
        wait_for(lambda: reader.last_id > setup_last or bool(errors), "the reader to see the writers' first events")

    results: list[Written] = []

    def write(practitioner_id: str) -> None:
        try:
            results.append(write_rounds(live_api, practitioner_id, halfway))
        except BaseException as exc:
            errors.append(exc)

    following = threading.Thread(target=follow_feed)
    writing = [threading.Thread(target=write, args=(p,)) for p in practitioners]
    try:
        following.start()
        wait_for(lambda: reader.polls > 0 or bool(errors), "the reader's first poll")
        for thread in writing:
            thread.start()
        for thread in writing:
            thread.join(timeout=ROUNDS * 3 * REQUEST_TIMEOUT_SECONDS)
        assert not any(t.is_alive() for t in writing), "a writer never finished"
        assert not errors, errors
        assert reader.last_id > setup_last, "the reader saw none of the writers' events while they ran"

        expected_count.append(len(table_ids(engine, "id")))
        drain_deadline[0] = time.monotonic() + SETTLE_SECONDS
        writers_done.set()
        following.join(timeout=SETTLE_SECONDS + REQUEST_TIMEOUT_SECONDS)
        assert not following.is_alive(), "the reader never finished draining the feed"
        assert not errors, errors
    finally:
        expected_count.append(0)  # with the next line, lets a reader still running stop, whatever failed above
        writers_done.set()
        following.join(timeout=REQUEST_TIMEOUT_SECONDS)
        reader.http.close()

    by_id = table_ids(engine, "id")
    feed_order = table_ids(engine, "txid, id")
    seen = [item["id"] for item in reader.seen]
    assert len(results) == WRITERS
    assert not [i for i, n in Counter(seen).items() if n > 1], "events handed out twice"
    assert not set(by_id) - set(seen), f"events never handed out: {sorted(set(by_id) - set(seen))}"
    assert not set(seen) - set(by_id), "events handed out that the table does not hold"
    assert seen == feed_order, "the reader saw the events in the feed's one stable order, (txid, id)"
    if engine.dialect.name == "sqlite":
        assert seen == by_id, "SQLite: id order is commit order"

    # And the trail holds what the writers did: a creation of every row they made, and each move.
    creations = {(e["entity_type"], e["entity_id"]) for e in reader.seen if e["before"] is None}
    made = [row for w in results for row in w.created]
    assert not set(made) - creations, f"rows made without an event: {sorted(set(made) - creations)}"
    moves = {
        e["entity_id"]
        for e in reader.seen
        if e["entity_type"] == "session" and e["before"] and e["after"]
        if e["before"]["start_at"] != e["after"]["start_at"]
    }
    moved = {s for w in results for s in w.moved_sessions}
    assert moved <= moves, f"sessions moved without an event: {sorted(moved - moves)}"
