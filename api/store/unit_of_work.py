"""The unit of work: what every use case gets instead of a database session.

A use case reads, locks and changes the database through the :class:`UnitOfWork` it is
given, and the unit of work keeps Prolo's write rules itself, so no use case can forget one:

- **the actor** (S7): a write is opened with an actor (api/store/actors.py) and an action;
  opening one without raises :class:`NoActor`, there is no default;
- **locks** (R11, api/store/locks.py): :meth:`~api.store.locks.RowLocks.lock_for_change` and the
  helpers built on it take rows in the writers' order (practitioner, patient, course, then the
  course's sessions), and every lock waits no longer than the rest of the request's deadline
  (api/store/admission.py);
- **the audit trail** (S7): rows changed through the ORM (:meth:`~UnitOfWork.add`,
  :meth:`~UnitOfWork.delete`) are recorded when they are flushed; rows written in bulk
  (:meth:`~UnitOfWork.insert`, :meth:`~UnitOfWork.update`) are recorded by those methods;
- **reads see the transaction's own changes**: :meth:`~UnitOfWork.rows` flushes first;
- **a dry run** is decided when the unit is opened (``dry_run``): the use case runs as it
  would, under the same locks, and the transaction is rolled back, never committed.

The hooks that record flushed rows, write the gathered events at commit, count a session's
calendar revisions and tell this process's day-view answers what a commit changed
(api/store/freshness.py) are registered on Prolo's own sessionmaker (:data:`SESSIONS`), never on
SQLAlchemy's `Session` class: a session opened elsewhere (a test's, a migration's) has none.
"""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, TypeVarTuple, overload

from pydantic_core import PydanticUndefined
from sqlalchemy import Engine, Result, Row, Table, event, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlalchemy.util.typing import TupleAny
from sqlmodel import SQLModel, col

from api.store import actors, audit, freshness
from api.store.admission import Deadline
from api.store.db import DbSession, Prepared, insert_rows, read_session, write_session
from api.store.errors import NotFound
from api.store.locks import Locked, ReadOnly, RowLocks
from api.store.tokens import LinkKeys
from models import Actor, Session
from models.base import table_of
from models.session import FREED, Freed, count_revisions, gather_freed

__all__ = ["SESSIONS", "Locked", "NoActor", "ReadOnly", "Steps", "UnitOfWork", "reading", "steps", "writing"]

Model = TypeVar("Model", bound=SQLModel)
Ts = TypeVarTuple("Ts")

SESSIONS = sessionmaker(class_=DbSession, expire_on_commit=False)
"""Prolo's own sessions: the only ones the audit trail's and the calendar's hooks watch."""
event.listen(SESSIONS, "before_flush", count_revisions)
event.listen(SESSIONS, "before_flush", gather_freed)
event.listen(SESSIONS, "after_flush", audit.gather_flushed)
event.listen(SESSIONS, "before_commit", audit.write_gathered)
event.listen(SESSIONS, "after_soft_rollback", audit.forget_gathered)
event.listen(SESSIONS, "after_commit", freshness.committed)


class NoActor(RuntimeError):
    """A write was opened without saying who makes it (a bug: every writer names its actor)."""


class UnitOfWork(RowLocks):
    """One transaction as a use case sees it; see the module docstring (its locks: api/store/locks.py)."""

    def __init__(
        self,
        db: DbSession,
        *,
        actor: Actor | None,
        action: str,
        now: datetime | None,
        dry_run: bool,
        writes: bool,
        link_keys: LinkKeys | None = None,
    ) -> None:
        self._db = db
        self.actor = actor
        self.action = action
        self.now = now
        self.dry_run = dry_run
        self.writes = writes
        # R23: the messages a use case plans carry patient links made with these (None: no link)
        self.link_keys = link_keys

    @property
    def store_session(self) -> DbSession:
        """The session itself, for the store's own modules (the audit feed's reader); never for a use case."""
        return self._db

    def freed(self) -> list[Freed]:
        """The spans active sessions gave up in this transaction since the last call (flushed first; R40)."""
        self._db.flush()
        found: list[Freed] = self._db.info.pop(FREED, [])
        return found

    # -- reading ---------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.get_bind().dialect.name

    @overload
    def execute(self, statement: TypedReturnsRows[*Ts], params: Mapping[str, Any] | None = None) -> Result[*Ts]: ...
    @overload
    def execute(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Result[*TupleAny]: ...
    def execute(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Result[*TupleAny]:
        """An ORM statement (objects, or a count); pending changes are flushed first, as the ORM does."""
        return self._db.execute(statement, params)

    @overload
    def rows(self, statement: TypedReturnsRows[*Ts], params: Mapping[str, Any] | None = None) -> CursorResult[*Ts]: ...
    @overload
    def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[*TupleAny]: ...
    def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[*TupleAny]:
        """A Core statement's plain rows (hundreds per planning pass), after flushing this transaction's
        pending changes so the read sees them, as an ORM read would."""
        self._db.flush()
        return self._db.connection().execute(statement, params)

    def fetch(self, query: Prepared, params: Mapping[str, Any]) -> list[Any]:
        """A prepared read's rows (named tuples), after flushing this transaction's pending changes so the
        read sees them: the planner's reads, run several times a request (api/store/db.py :class:`Prepared`)."""
        self._db.flush()
        return query.rows(self._db.connection(), params)

    def find(self, model: type[Model], row_id: uuid.UUID | int | str) -> Model | None:
        """The row with this id, or None."""
        return self._db.get(model, row_id)

    def get(self, model: type[Model], row_id: uuid.UUID | int | str) -> Model:
        """The row with this id; NotFound (404) when there is none."""
        row = self._db.get(model, row_id)
        if row is None:
            raise NotFound(str(model.__tablename__), row_id)
        return row

    def course_sessions(self, course_id: uuid.UUID, *, lock: bool = False) -> list[Session]:
        """Every session of a course, by number; `lock` holds them (after the course, in the writers' order)."""
        query = select(Session).where(col(Session.course_id) == course_id).order_by(col(Session.number))
        if lock:  # read again under the lock, as _locking does
            self._waiting()
            query = query.with_for_update().execution_options(populate_existing=True)
        return list(self._db.execute(query).scalars())

    # -- changing (every change recorded in the audit trail, S7) ----------------------------------

    def _writable(self) -> None:
        if not self.writes:
            raise ReadOnly("a read changes nothing")

    def add(self, row: SQLModel) -> None:
        """Insert or change a row through the ORM; recorded when it is flushed."""
        self._writable()
        self._db.add(row)

    def delete(self, row: SQLModel) -> None:
        """Delete a row through the ORM; recorded when it is flushed."""
        self._writable()
        self._db.delete(row)

    def flush(self) -> None:
        """Send what is pending now (a constraint then fails here, inside the use case)."""
        self._db.flush()

    def insert(
        self, model: type[SQLModel], rows: Sequence[Mapping[str, Any]], *, same: Mapping[str, Any] | None = None
    ) -> None:
        """Insert rows in one statement (the bulk a booking makes), each recorded as made; ``same`` gives
        columns one value for every row. The rows are not ORM objects: nothing here changes them again."""
        self._writable()
        if not rows:
            return
        table, entity, defaults = _table_defaults(model)
        # columns the rows leave out get the model's default, stored and recorded alike
        first = rows[0]
        common = {name: value for name, value in defaults.items() if name not in first}
        if same:
            common.update(same)
        insert_rows(self._db.connection(), table, rows, same=common)
        audit.record_made(self._db, entity, rows, common)

    def insert_once(self, model: type[SQLModel], row: Mapping[str, Any], *, unique: Sequence[str]) -> bool:
        """Insert `row` unless a row with the same `unique` columns exists; True when this made it (recorded).

        `INSERT … ON CONFLICT DO NOTHING`: a writer that races another for the same key waits for it on the
        unique index (PostgreSQL) or for the write lock (SQLite), then finds it there, never an error.
        """
        self._writable()
        table = table_of(model)
        insert = postgresql_insert if self.dialect == "postgresql" else sqlite_insert
        statement = insert(table).values(**row).on_conflict_do_nothing(index_elements=list(unique))
        made = self._db.execute(statement.returning(table.c.id)).first() is not None
        if made:
            audit.record(self._db, table.name, [(row["id"], None, row)])
        return made

    def update(
        self,
        model: type[SQLModel],
        *,
        where: Any,
        values: Mapping[str, Any],
        before: Mapping[Any, Mapping[str, Any]],
        recorded: Sequence[str],
        returning: Sequence[str] = (),
    ) -> list[Row[Any]]:
        """One Core UPDATE of the rows `where` picks (the dispatcher's hot path); its rows as `returning` has them.

        Each row changed is recorded: `before` gives what it held (by id), the `recorded` columns what it holds.
        """
        self._writable()
        table = table_of(model)
        wanted = [table.c[name] for name in dict.fromkeys(("id", *recorded, *returning))]
        rows = list(self._db.execute(update(table).where(where).values(**values).returning(*wanted)).all())
        audit.record(
            self._db,
            table.name,
            ((r.id, before.get(r.id, {}), {name: r._mapping[name] for name in recorded}) for r in rows),
        )
        return rows

    def bookkeeping(self, statement: Any, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """A statement on Prolo's own bookkeeping, which the audit trail does not record (stored answers to
        retries, a dispatcher renewing its lease); it may wait for another writer's lock, within the deadline."""
        self._waiting()
        return self._db.connection().execute(statement, params)


@cache
def _table_defaults(model: type[SQLModel]) -> tuple[Table, str, dict[str, Any]]:
    """The model's table, its name as events name it, and the columns that have a constant default in the model."""
    table = table_of(model)
    fields = model.model_fields
    defaults = {
        name: fields[name].default
        for name in (column.key for column in table.c)
        if name in fields and fields[name].default is not PydanticUndefined and fields[name].default_factory is None
    }
    return table, str(table.name), defaults


@contextmanager
def writing(
    engine: Engine,
    *,
    actor: Actor | None,
    action: str,
    now: datetime | None = None,
    deadline: Deadline | None = None,
    dry_run: bool = False,
    link_keys: LinkKeys | None = None,
) -> Iterator[UnitOfWork]:
    """A writer's unit of work whose changes are recorded as `actor`'s `action` (at `now`), committed when the
    block ends without an exception, rolled back instead for a `dry_run`.

    An actor that is an API key must still be one: revoked meanwhile, the transaction raises KeyRevoked before
    anything changes (S4). No actor: :class:`NoActor`.
    """
    if not isinstance(actor, Actor):
        raise NoActor(f"{action}: a write must say who makes it (api/store/actors.py)")
    with write_session(engine, deadline, sessions=SESSIONS) as db:
        audit.begin(db, actor=actor, action=action, now=now)
        audit.key_still_valid(db, actor)
        yield UnitOfWork(db, actor=actor, action=action, now=now, dry_run=dry_run, writes=True, link_keys=link_keys)
        if not dry_run:
            db.commit()


@dataclass(frozen=True)
class Steps:
    """Units of work a use case opens one after another, committing as it goes (a dispatch pass: one per
    batch claimed, one per message delivered), each at the instant given, all in one actor's name."""

    engine: Engine
    actor: Actor
    action: str
    link_keys: LinkKeys | None = None  # what patient links are made with (R23), when the runner has them

    def __call__(self, now: datetime) -> AbstractContextManager[UnitOfWork]:
        """The next step: a :func:`writing` unit of its own, within a deadline of its own."""
        return writing(self.engine, actor=self.actor, action=self.action, now=now, link_keys=self.link_keys)

    def automatic(self, action: str) -> "Steps":
        """Steps Prolo takes by itself inside the pass (R23–R45), in the name of the pass's runner."""
        return replace(self, actor=actors.automatic(self.actor), action=action)


def steps(engine: Engine, *, actor: Actor, action: str, link_keys: LinkKeys | None = None) -> Steps:
    """`actor`'s steps of `action` (see :class:`Steps`)."""
    return Steps(engine, actor, action, link_keys)


@contextmanager
def reading(engine: Engine, *, link_keys: LinkKeys | None = None) -> Iterator[UnitOfWork]:
    """A unit of work that only reads (SQLite: `BEGIN DEFERRED`, never the write lock)."""
    with read_session(engine, sessions=SESSIONS) as db:
        yield UnitOfWork(db, actor=None, action="read", now=None, dry_run=False, writes=False, link_keys=link_keys)
