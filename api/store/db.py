"""Engines and transactions on SQLite (embedded default) and PostgreSQL.

SQLite: WAL so readers never wait for the writer, every commit synced to disk,
foreign keys on, and writers begin with `BEGIN IMMEDIATE`, so two bookings are
serialised instead of failing half-way (R11). PostgreSQL: psycopg 3; writers lock
the rows they plan around (`FOR UPDATE`) and an exclusion constraint refuses
overlapping active sessions. How long a writer may wait for either is the request's
one deadline: the whole story is in api/store/admission.py.
"""

import re
import threading
import uuid
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

import orjson
import pydantic_core
from sqlalchemy import (
    JSON,
    ColumnElement,
    CompoundSelect,
    Connection,
    Date,
    Dialect,
    Engine,
    Select,
    Table,
    Uuid,
    create_engine,
    event,
    literal_column,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeEngine
from sqlalchemy.util.typing import TupleAny
from sqlmodel import Session as DbSession

from api.store.admission import WAIT_SECONDS, AdmissionTimeout, Deadline
from models.base import EnumText, UTCDateTime, sqlite_instant

__all__ = [
    "DbSession",
    "Prepared",
    "insert_rows",
    "make_engine",
    "one_of",
    "read_session",
    "schema_transaction",
    "to_json",
    "write_session",
]

_WRITE = "prolo_write"  # execution option: this transaction writes
_DEADLINE = "prolo_deadline"  # in a writer's session.info: the request's deadline
_WAIT_MS = "prolo_wait_ms"  # execution option: how long its lock may be waited for
_DEFAULT_WAIT_MS = int(WAIT_SECONDS * 1000)
# PostgreSQL's advisory lock key of Prolo's start-up (b"prolo.db" as a number): migrations, the clinic, the first key
START_UP_LOCK = 0x70726F6C6F2E6462
_SCHEMA_WAIT_MS = 600_000  # another replica's migrations may take a while on a large database
_GATES: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()


_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_STATE = re.compile(r"[a-z][a-z0-9_]*")


def one_of(column: Any, states: Iterable[str]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` for a fixed set of states, written into the statement itself.

    An IN list of parameters is expanded into the SQL text again at every execution (SQLAlchemy's
    "post-compile" step), which costs a hot read such as the planner's busy sessions about a third of
    its time; a statement built once with the states in its text is run as it was compiled. Only
    Prolo's own state names are accepted (snake_case words), so nothing from outside reaches the SQL.
    """
    texts = sorted({str(state) for state in states})
    for state in texts:
        if not _STATE.fullmatch(state):
            raise ValueError(f"not a state name: {state!r}")
    clause: ColumnElement[bool] = column.in_([literal_column(f"'{state}'") for state in texts])
    return clause


def to_json(value: Any) -> str:
    """JSON columns' text: ids, instants ("…Z"), dates, times and states as the API writes them.

    orjson writes them in one native pass; what it does not know (a Decimal, a timedelta, a
    pydantic model) is handed to pydantic-core, as the API would write it. Every changed row
    becomes an audit event's JSON (a booking writes about forty), so this is on the hot path
    (bench/README.md).
    """
    return orjson.dumps(value, default=pydantic_core.to_jsonable_python, option=_JSON_OPTIONS).decode()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine configured for Prolo's concurrency model on either database.

    The pool keeps `pool_size` connections and may open as many again: the server admits
    `pool_size` requests to the database at once (api/store/admission.py), the overflow serves
    health checks, key lookups and the day view's change watcher, so nobody waits on the pool.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": WAIT_SECONDS},
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,  # a database error's message never quotes a patient's values (S7)
            json_serializer=to_json,
            json_deserializer=orjson.loads,
        )
        _configure_sqlite(engine)
        _GATES[engine] = threading.Lock()
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        hide_parameters=True,
        json_serializer=to_json,
        json_deserializer=orjson.loads,
    )
    _configure_postgresql(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Every commit reaches the disk (the WAL is synced at each commit): a booking the API
        # confirmed survives a power cut, for a fraction of a millisecond per commit (bench/README.md).
        cursor.execute("PRAGMA synchronous=FULL")
        # Checkpoints copy the WAL into the database file and sync both. Every 4 000 pages
        # (16 MB of WAL) instead of SQLite's 1 000 they come a quarter as often and copy pages
        # that bookings wrote over and over (index roots, the end of each table) once, not four
        # times, which pays for the sync above (bench/README.md); nothing is less durable for it,
        # every commit is synced anyway.
        cursor.execute("PRAGMA wal_autocheckpoint=4000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        # SQLite's lock waits (its busy handler) get what is left of the transaction's deadline; the
        # pragma is sent only when that differs by more than a tenth of a second from what is set.
        wait_ms = int(options.get(_WAIT_MS, _DEFAULT_WAIT_MS))
        if abs(conn.info.get(_WAIT_MS, -1_000) - wait_ms) > 100:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
            conn.info[_WAIT_MS] = wait_ms
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN DEFERRED")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        wait_ms = conn.get_execution_options().get(_WAIT_MS)
        if wait_ms is not None:  # row locks wait what is left of the deadline, then fail (503)
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
    sql: Mapping[str, str] | None = None,
) -> None:
    """INSERT rows through the driver's own executemany, each value made ready here, once.

    For the bulk inserts a booking makes (its course, sessions, three dozen reminders, forty
    audit events): SQLAlchemy's per-row parameter handling cost more than the inserts. Values
    are converted as the columns' types would (ids, instants, dates, states, JSON). ``same``
    gives columns one value for every row, converted once; ``sql`` gives a column an SQL
    expression instead of a value, the same for every row.
    """
    if not rows:
        return
    sql = sql or {}
    first = rows[0]
    # A column that is None in every row (or in `same`) is written as NULL in the statement itself: SQLite's
    # driver hands each None parameter through its adaptation protocol (two failed attribute lookups, some
    # 3 000 CPU instructions), and a booking's reminders have a dozen columns still empty in three dozen rows.
    nulls = [name for name, value in (same or {}).items() if value is None]
    same = {name: value for name, value in (same or {}).items() if value is not None}
    names = tuple(name for name in first if name not in sql and name not in same and name not in nulls)
    nulls += [n for n in names if first[n] is None and all(row[n] is None for row in rows)]
    if nulls:
        names = tuple(n for n in names if n not in nulls)
    statement, shared_ready, converted = _insert_plan(
        table, connection.dialect.name, names, tuple(same), (*sql.items(), *((n, "NULL") for n in nulls))
    )
    shared = tuple(
        value if value is None or f is None else f(value) for f, value in zip(shared_ready, same.values(), strict=True)
    )
    if not names:
        connection.exec_driver_sql(statement, [shared] * len(rows))
        return
    take = itemgetter(*names)
    params: list[tuple[Any, ...]] = []
    for row in rows:
        picked = take(row)
        values_of_row = list(picked) if isinstance(picked, tuple) else [picked]
        for i, convert in converted:
            if values_of_row[i] is not None:
                values_of_row[i] = convert(values_of_row[i])
        params.append((*values_of_row, *shared))
    connection.exec_driver_sql(statement, params)


_Ready = Callable[[Any], Any]


@cache
def _insert_plan(
    table: Table, dialect: str, names: tuple[str, ...], same: tuple[str, ...], sql: tuple[tuple[str, str], ...]
) -> tuple[str, tuple[_Ready | None, ...], tuple[tuple[int, _Ready], ...]]:
    """An INSERT's text, how each shared value is made ready, and which of a row's own values need converting
    (by position): made once per table and set of columns, as a booking's inserts repeat them."""
    marks = [_mark(table.c[n].type, dialect) for n in [*names, *same]]
    columns = ", ".join([*names, *same, *(name for name, _ in sql)])
    values = ", ".join([*marks, *(expression for _, expression in sql)])
    # identifiers from Prolo's own table metadata, never from input
    statement = f"INSERT INTO {table.name} ({columns}) VALUES ({values})"  # noqa: S608
    shared = tuple(_ready(table.c[n].type, dialect) for n in same)
    # only the columns whose values need converting get a function call per row
    converted = tuple((i, f) for i, n in enumerate(names) if (f := _ready(table.c[n].type, dialect)) is not None)
    return statement, shared, converted


def _mark(kind: TypeEngine[Any], dialect: str) -> str:
    return "%s::jsonb" if dialect == "postgresql" and _is_json(kind) else _MARK[dialect]


_MARK = {"postgresql": "%s", "sqlite": "?"}


def _is_json(kind: TypeEngine[Any]) -> bool:
    return isinstance(kind, JSON)


def _ready(kind: TypeEngine[Any], dialect: str) -> Callable[[Any], Any] | None:
    """How a value (never None) of this column type is handed to the driver, as SQLAlchemy's own
    processors would; None when the driver takes it as it is."""
    sqlite = dialect == "sqlite"
    if _is_json(kind):
        return to_json
    if isinstance(kind, EnumText):
        return kind.text_of
    if isinstance(kind, UTCDateTime):
        return sqlite_instant if sqlite else None
    if isinstance(kind, Uuid):
        return _hex if sqlite else None
    if isinstance(kind, Date) and sqlite:
        return date.isoformat
    return None


def _hex(value: uuid.UUID) -> str:
    return value.hex


class Prepared:
    """A small indexed SELECT run many times a request (the planner's busy time, closures, time off),
    compiled once per database and run by the driver's own cursor, in the caller's transaction; each
    row comes back as a named tuple of values converted by the columns' own types, as SQLAlchemy would.

    SQLAlchemy's execution of a cached statement (its parameters, result metadata and row objects)
    costs several times what SQLite spends answering these reads (bench/README.md). A statement
    with an IN list of parameters cannot be prepared (it is rewritten at every run): use
    :func:`one_of` for fixed states.
    """

    def __init__(self, statement: Select[*TupleAny] | CompoundSelect[*TupleAny]) -> None:
        self.statement = statement
        self.row: Any = namedtuple("Row", [column.key for column in statement.selected_columns])  # type: ignore[misc]
        self._plans: dict[str, _PreparedPlan] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """The rows for these parameters (those the statement does not name are ignored)."""
        dialect = connection.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _PreparedPlan.of(self.statement, dialect)
        ready = plan.parameters(params)
        found = connection.connection.driver_connection.execute(plan.sql, ready).fetchall()  # type: ignore[union-attr]
        make = self.row._make
        if not plan.converted:
            return [make(values) for values in found]
        converters = plan.converters
        return [
            make([v if v is None or f is None else f(v) for f, v in zip(converters, values, strict=True)])
            for values in found
        ]


@dataclass(frozen=True)
class _PreparedPlan:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binders: tuple[Callable[[Any], Any] | None, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]
    converted: bool

    @classmethod
    def of(cls, statement: Select[*TupleAny] | CompoundSelect[*TupleAny], dialect: Dialect) -> "_PreparedPlan":
        compiled = statement.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("an IN list of parameters is rewritten at every run: use one_of() for fixed states")
        names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else tuple(compiled.binds)
        binders = tuple(compiled.binds[name].type._cached_bind_processor(dialect) for name in names)
        converters = tuple(column.type._cached_result_processor(dialect, None) for column in statement.selected_columns)
        return cls(sql, names, compiled.positional, binders, converters, any(converters))

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = [
            params[name] if f is None or params[name] is None else f(params[name])
            for name, f in zip(self.names, self.binders, strict=True)
        ]
        return values if self.positional else dict(zip(self.names, values, strict=True))


@contextmanager
def _writer_gate(engine: Engine, deadline: Deadline) -> Iterator[None]:
    """On SQLite, this process's writers take turns here before `BEGIN IMMEDIATE` (api/store/admission.py, step 2).

    SQLite lets one writer in at a time anyway; a writer that finds the lock taken
    waits in its busy handler, which polls with sleeps of 1, 2, 5, 10 … ms, so under
    concurrent writes the lock sat free while waiters slept. Here the next writer
    wakes the moment the previous one has committed. No-op on PostgreSQL.
    """
    gate = _GATES.get(engine)
    if gate is None:
        yield
        return
    if not gate.acquire(timeout=deadline.remaining()):
        raise AdmissionTimeout(deadline.seconds)
    try:
        yield
    finally:
        gate.release()


@contextmanager
def write_session(
    engine: Engine, deadline: Deadline | None = None, *, sessions: Callable[..., DbSession] = DbSession
) -> Iterator[DbSession]:
    """A writer's transaction, begun at once, within the deadline (a fresh 30 s one if none is given).

    Whoever opened it commits: the HTTP layer once the answer is ready (api/web/transaction.py),
    the CLI and the dispatcher after their work. Leaving the block without a commit rolls back.
    """
    deadline = deadline or Deadline()
    with _writer_gate(engine, deadline), sessions(bind=engine, expire_on_commit=False) as db:
        wait_ms = max(1, int(deadline.remaining() * 1000))
        db.connection(execution_options={_WRITE: True, _WAIT_MS: wait_ms})  # BEGIN (IMMEDIATE) now
        db.info[_DEADLINE] = deadline
        db.info[_WAIT_MS] = wait_ms  # PostgreSQL's lock_timeout, as BEGIN set it
        yield db


def before_waiting(db: DbSession) -> None:
    """Before a statement that may wait for another writer's lock: wait no longer than the deadline's rest.

    PostgreSQL's lock_timeout holds for each wait on its own; set again before each one, the
    waits of one transaction add up to no more than the request's deadline (api/store/admission.py).
    As for SQLite's busy timeout at BEGIN, it is sent only when the deadline's rest has moved by
    more than a tenth of a second since it was set: a booking's locks follow each other within
    milliseconds, and each SET was a round trip. On SQLite the write lock was taken at BEGIN:
    nothing waits later.
    """
    deadline: Deadline | None = db.info.get(_DEADLINE)
    if deadline is None or db.get_bind().dialect.name != "postgresql":
        return
    wait_ms = max(1, int(deadline.remaining() * 1000))
    if db.info.get(_WAIT_MS, wait_ms + 1_000) - wait_ms > 100:
        db.execute(text(f"SET LOCAL lock_timeout = {wait_ms}"))
        db.info[_WAIT_MS] = wait_ms


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """The one transaction a migration run takes, one process at a time, so replicas starting together on an
    empty database migrate it once: SQLite's write lock from `BEGIN IMMEDIATE`, PostgreSQL's start-up advisory
    lock; either waits up to ten minutes for the other's migrations, which it then finds done."""
    with (
        engine.connect() as connection,
        connection.execution_options(**{_WRITE: True, _WAIT_MS: _SCHEMA_WAIT_MS}).begin(),
    ):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (START_UP_LOCK,))
        yield connection


@contextmanager
def read_session(engine: Engine, *, sessions: Callable[..., DbSession] = DbSession) -> Iterator[DbSession]:
    """A transaction that reads (SQLite: `BEGIN DEFERRED`, never the write lock)."""
    with sessions(bind=engine, expire_on_commit=False) as db:
        yield db
