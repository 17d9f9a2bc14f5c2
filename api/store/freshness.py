"""Answers that stay valid until the sessions they were made of change, known without a round trip.

The day view is polled all day by every front-desk screen, and between two polls its
sessions have usually not changed, even while other things are written. Each answer is
kept with its :class:`Scope` (the instants and the practitioner or patient it shows), and
the database itself says which sessions every commit touched (migration 0012's triggers,
in the writing transaction, so every writer tells: the API, the command line, a script):

- **PostgreSQL**: a `NOTIFY prolo_day_view` per touched session, sent with the commit. One
  listening connection per process (:class:`PostgresChanges`), read by the event loop,
  receives them; an answer comes from memory after a ping on it, sent after the poll began,
  has come back (see the class for why the notices of earlier commits are in by then:
  PostgreSQL's server code, beyond what its NOTIFY page promises). When the listener is down
  or reconnecting nothing is served from memory (every poll is computed, as without a
  cache); once it listens again everything is forgotten.
- **SQLite**: `PRAGMA data_version` on a connection of its own (it moves whenever any other
  connection, in any process, commits); when it moved, the `day_view_change` rows added
  since the last one seen name the touched sessions (:class:`SQLiteChanges`).

What a touched session forgets: every kept answer whose scope holds the session as it was
or as it is (its start, its practitioner, its patient). A change to the clinic (its zone)
forgets everything. Closures, time off, hours and patients are not part of the day view,
so their changes forget nothing.

Freshness, on both databases, across processes and replicas: a poll never answers data
older than a commit that finished before the poll began. A commit made in this process
through the unit of work also forgets its answers at once (:func:`committed`).
"""

import asyncio
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from api.store.audit import WRITTEN

CHANNEL = "prolo_day_view"
RETRY_SECONDS = 1.0  # a listener that lost its connection tries again this often
START_SECONDS = 5.0  # a server starts answering without waiting longer for its listener


@dataclass(frozen=True, slots=True)
class Touched:
    """One session as a commit left it, or as it was before: the day view's columns that place it."""

    practitioner_id: uuid.UUID
    patient_id: uuid.UUID
    start: datetime


@dataclass(frozen=True, slots=True)
class Scope:
    """The sessions an answer was made of: starting in [start, end), of a practitioner, of a patient (None: any)."""

    start: datetime | None = None
    end: datetime | None = None
    practitioner_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    def holds(self, session: Touched) -> bool:
        return (
            (self.start is None or session.start >= self.start)
            and (self.end is None or session.start < self.end)
            and (self.practitioner_id is None or session.practitioner_id == self.practitioner_id)
            and (self.patient_id is None or session.patient_id == self.patient_id)
        )


Forget = Callable[[Sequence[Touched] | None], None]
"""Forget the answers that hold any of these sessions; None: forget everything."""


class Changes:
    """What the database says changed since the last look."""

    def catch_up(self, forget: Forget) -> bool:
        """Apply the changes this process can know of now (the cache's lock is held); False: none can be trusted."""
        raise NotImplementedError

    async def start(self, forget: Forget) -> None:
        """Start watching, before the first answer."""
        self.catch_up(forget)

    async def fresh(self) -> bool:
        """Wait until every commit that finished before this call can be applied by :meth:`catch_up`; False:
        it cannot be known now (answer without memory)."""
        return True

    async def settle(self, seconds: float) -> bool:
        """As :meth:`fresh`, for tests that count answers."""
        return True

    def close(self) -> None:
        """Release the connection it holds."""


class SQLiteChanges(Changes):
    """`PRAGMA data_version` on a connection that never writes, then the new `day_view_change` rows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._watcher: Any = None
        self._version = -1
        self._seen = 0  # the last day_view_change row applied

    def catch_up(self, forget: Forget) -> bool:
        if self._watcher is None:
            self._watcher = self._engine.raw_connection()
            self._version = self._read_version()
            self._seen = (
                self._watcher.cursor().execute("SELECT coalesce(max(seq), 0) FROM day_view_change").fetchone()[0]
            )
            forget(None)
            return True
        version = self._read_version()
        if version == self._version:
            return True
        self._version = version  # read before the rows: a commit after this moves it again
        rows = (
            self._watcher.cursor()
            .execute(
                "SELECT seq, practitioner_id, patient_id, start_at, everything FROM day_view_change "
                "WHERE seq > ? ORDER BY seq",
                (self._seen,),
            )
            .fetchall()
        )
        if not rows:
            return True
        behind = rows[0][0] != self._seen + 1  # rows this reader never saw are gone (or the table was emptied)
        whole = behind or any(row[4] for row in rows)  # or the clinic changed
        self._seen = rows[-1][0]
        forget(None if whole else [_touched(p, q, datetime.fromisoformat(s + "+00:00")) for _, p, q, s, _ in rows])
        return True

    def _read_version(self) -> int:
        version: int = self._watcher.cursor().execute("PRAGMA data_version").fetchone()[0]
        return version

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None


class PostgresChanges(Changes):
    """`LISTEN prolo_day_view` on one connection of the process's own, read by the event loop.

    A poll's answer comes from memory only after a *ping* sent after the poll began has come back:
    one empty query on the listening connection. Polls that come while a ping is out wait together
    for the next one: one round trip serves them all, with no pool, no thread and no transaction.

    Why the notices of every commit that finished before the poll began have arrived, and have
    been applied, before the ping's answer: PostgreSQL's NOTIFY page promises only the order of
    notices among themselves ("messages from different transactions are delivered in the order in
    which the transactions committed", https://www.postgresql.org/docs/current/sql-notify.html),
    not their order against another session's query. That order is the server's code (read in
    PostgreSQL 15 and later; the live test in tests/system/test_day_view_across_processes.py
    checks it): a committing transaction queues its notices before its commit record
    (`PreCommit_Notify`) and signals every listening backend from `AtCommit_Notify`, inside
    `CommitTransaction`, so before its client is told (src/backend/commands/async.c); the signal
    is pending on the listening backend before the ping is even sent, and that backend, having
    read a command, handles a pending notify signal before it runs it (`secure_read` calls
    `ProcessClientReadInterrupt` after each read, which sends and flushes the notices:
    src/backend/libpq/be-secure.c, src/backend/tcop/postgres.c); the socket keeps their order,
    and :meth:`_readable` applies the notices it has read before it looks for the ping's answer.
    A ping that was itself a NOTIFY would rest on the documented order alone, at the price of a
    commit (a transaction id, a WAL record, the notify queue's cluster-wide lock) per ping.

    Down (no connection, or it broke): no answer comes from memory, every poll is computed; a task
    connects again every `RETRY_SECONDS`, and once it listens everything kept is forgotten.
    """

    def __init__(self, engine: Engine, lock: threading.Lock) -> None:
        self._engine = engine
        self._lock = lock
        self._connection: Any = None  # psycopg's, listening; None while down
        self._loop: asyncio.AbstractEventLoop | None = None
        self._forget: Forget | None = None
        self._sent: asyncio.Future[bool] | None = None  # the polls waiting for the ping that is out
        self._next: asyncio.Future[bool] | None = None  # the polls that came after it was sent
        self._down = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._schema = ""  # the listener's current_schema(): notices name theirs (one database may hold several)

    def catch_up(self, forget: Forget) -> bool:
        return self._connection is not None  # the event loop applies the notices as they arrive

    async def start(self, forget: Forget) -> None:
        if self._keeper is not None:
            return  # started by an earlier lifespan of the same app (a test client's): its loop reads the listener
        self._loop, self._forget = asyncio.get_running_loop(), forget
        self._down = asyncio.Event()
        self._keeper = self._loop.create_task(self._keep())
        for _ in range(int(START_SECONDS / 0.01)):
            if self._connection is not None:
                return
            await asyncio.sleep(0.01)

    async def _keep(self) -> None:
        while True:
            if self._connection is None:
                try:
                    connection = await asyncio.to_thread(self._connect)
                except Exception:  # the database is away: polls are computed meanwhile
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self._install(connection)
            await self._down.wait()
            self._down.clear()

    def _connect(self) -> Any:
        raw = self._engine.raw_connection()
        connection = raw.driver_connection
        raw.detach()  # the pool's no longer: it listens for the rest of its life
        assert connection is not None
        try:
            connection.autocommit = True
            schema = connection.execute("SELECT current_schema()").fetchone()
            self._schema = schema[0] if schema else ""
            connection.execute(f"LISTEN {CHANNEL}")
            connection.pgconn.nonblocking = 1
        except Exception:
            connection.close()
            raise
        return connection

    def _install(self, connection: Any) -> None:
        assert self._loop is not None and self._forget is not None
        self._loop.add_reader(connection.pgconn.socket, self._readable)
        with self._lock:  # notices missed while down: forget everything, then trust the listener
            self._connection = connection
            self._forget(None)

    async def fresh(self) -> bool:
        if self._connection is None or asyncio.get_running_loop() is not self._loop:
            return False  # down, or asked from another event loop than the one reading the listener
        assert self._loop is not None
        waiting: asyncio.Future[bool]
        if self._sent is None:
            waiting = self._sent = self._loop.create_future()
            if not self._ping():
                return False
        else:
            if self._next is None:
                self._next = self._loop.create_future()
            waiting = self._next
        return await waiting

    def _ping(self) -> bool:
        try:
            pgconn = self._connection.pgconn
            pgconn.send_query(b"")
            while pgconn.flush():  # a few bytes: sent at once unless the socket is full
                pass
        except Exception:
            self._drop()
            return False
        return True

    def _readable(self) -> None:
        """The listening socket has something: notices, a ping's answer, or the end of the connection."""
        assert self._forget is not None
        if self._connection is None:
            return
        pgconn = self._connection.pgconn
        touched: list[Touched] = []
        whole = False
        try:
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                schema, _, payload = notice.extra.decode().partition(" ")
                if schema != self._schema:
                    continue  # another Prolo's, in another schema of the same database
                if payload == "*":
                    whole = True
                else:
                    practitioner, patient, epoch = payload.split(" ")
                    touched.append(_touched(practitioner, patient, datetime.fromtimestamp(float(epoch), UTC)))
            if whole or touched:
                with self._lock:
                    self._forget(None if whole else touched)
            answered = False
            while self._sent is not None and not pgconn.is_busy():
                if pgconn.get_result() is None:
                    answered = True
                    break
        except Exception:  # the connection broke: nothing is known until it listens again
            self._drop()
            return
        if answered and self._sent is not None:
            sent, self._sent = self._sent, None
            sent.set_result(True)
            if self._next is not None:
                self._sent, self._next = self._next, None
                self._ping()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        for waiting in (self._sent, self._next):
            if waiting is not None and not waiting.done():
                waiting.set_result(False)
        self._sent = self._next = None
        if connection is not None:
            if self._loop is not None:
                self._loop.remove_reader(connection.pgconn.socket)
            with suppress(Exception):  # closing a broken connection may fail too
                connection.close()
        self._down.set()

    async def settle(self, seconds: float) -> bool:
        return await self.fresh()

    def close(self) -> None:
        with suppress(RuntimeError):  # called from no loop at all: nothing was started
            if asyncio.get_running_loop() is not self._loop:
                return  # another lifespan's end: the loop that started the listener still runs
        if self._keeper is not None:
            self._keeper.cancel()
        self._drop()


def _touched(practitioner: Any, patient: Any, start: Any) -> Touched:
    return Touched(
        practitioner if isinstance(practitioner, uuid.UUID) else uuid.UUID(practitioner),
        patient if isinstance(patient, uuid.UUID) else uuid.UUID(patient),
        start if isinstance(start, datetime) else datetime.fromisoformat(start),
    )


_CACHES: "weakref.WeakSet[AnswerCache]" = weakref.WeakSet()  # every live cache of this process


def touched_by(events: Iterable[Mapping[str, Any]]) -> list[Touched] | None:
    """The sessions a transaction's audit events (api/store/audit.py) changed, as they were and are; None: all."""
    touched: list[Touched] = []
    for written in events:
        if written["entity_type"] == "clinic":
            return None
        if written["entity_type"] != "session":
            continue
        for row in (written["before"], written["after"]):
            if row is None:
                continue
            try:
                touched.append(_touched(row["practitioner_id"], row["patient_id"], row["start_at"]))
            except (KeyError, TypeError, ValueError):  # a partial change: what it moved is unknown
                return None
    return touched


def committed(db: Any, /) -> None:
    """After a commit in this process: its caches forget the answers it changed at once (SQLAlchemy's hook).

    Other processes learn it from the database (the module docstring); this process does not wait for that.
    """
    events = db.info.pop(WRITTEN, None)
    if not events:
        return
    touched = touched_by(events)
    if touched == []:
        return
    for cache in list(_CACHES):
        if cache.engine is db.bind:
            cache.forget(touched)


class AnswerCache:
    """The last answers by request, each kept with its scope until a change touches it."""

    def __init__(self, engine: Engine, size: int = 512) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._changes: Changes = (
            PostgresChanges(engine, self._lock) if engine.dialect.name == "postgresql" else SQLiteChanges(engine)
        )
        self._size = size
        self._answers: OrderedDict[Hashable, tuple[Scope, bytes]] = OrderedDict()
        self._forgotten = 0  # moves whenever answers are forgotten: an answer computed meanwhile is not kept
        self.computed = 0  # answers computed (not served from memory), for tests and benchmarks
        _CACHES.add(self)

    def forget(self, touched: Sequence[Touched] | None) -> None:
        """Forget the answers that hold any of these sessions (None: all), as a change this process made."""
        with self._lock:
            self._forget(touched)

    def _forget(self, touched: Sequence[Touched] | None) -> None:
        self._forgotten += 1
        if touched is None:
            self._answers.clear()
            return
        for key in [k for k, (scope, _) in self._answers.items() if any(map(scope.holds, touched))]:
            del self._answers[key]

    async def cached(self, key: Hashable) -> bytes | None:
        """The answer kept for `key` if no commit that finished before this call changed it; None: compute it
        with :meth:`compute`. PostgreSQL: waits for the listener's next ping, no round trip of its own."""
        if not await self._changes.fresh():
            return None
        with self._lock:
            if not self._changes.catch_up(self._forget):
                return None
            hit = self._answers.get(key)
            if hit is None:
                return None
            self._answers.move_to_end(key)
            return hit[1]

    def compute(self, key: Hashable, compute: Callable[[], tuple[Scope, bytes]]) -> bytes:
        """`compute`'s answer, kept for `key` unless a change was applied while it ran (it may be older)."""
        with self._lock:
            live = self._changes.catch_up(self._forget)
            forgotten = self._forgotten
        scope, answer = compute()
        with self._lock:
            self.computed += 1
            if live and forgotten == self._forgotten:
                self._answers[key] = (scope, answer)
                self._answers.move_to_end(key)
                while len(self._answers) > self._size:
                    self._answers.popitem(last=False)
        return answer

    async def open(self) -> None:
        """Start watching the database's changes (PostgreSQL: until the listener listens, at most a few seconds)."""
        await self._changes.start(self._forget)

    async def settle(self, seconds: float = 5.0) -> bool:
        """Wait until every commit finished before this call has been applied (for tests; answers never wait)."""
        return await asyncio.wait_for(self._changes.settle(seconds), seconds)

    def close(self) -> None:
        self._changes.close()
