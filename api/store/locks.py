"""A writer's row locks (R11): taken in the writers' order, each within the rest of the request's deadline.

Every writer that plans around more than one row locks them in one order: practitioner, patient,
course, then the course's sessions (:meth:`RowLocks.lock_for_change` and the helpers built on
it), so two writers never wait for each other in a circle. Before each lock the transaction's
lock timeout is set to what is left of the request's deadline (:func:`api.store.db.before_waiting`,
api/store/admission.py), so the waits of one transaction add up to no more than the deadline.
A read takes no locks (:class:`ReadOnly`).

:class:`RowLocks` is part of the unit of work (api/store/unit_of_work.py): use cases call these
methods on the unit they are given.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, select, text
from sqlmodel import SQLModel

from api.store.db import START_UP_LOCK, DbSession, before_waiting
from api.store.errors import NotFound
from models import Course, Patient, Practitioner, Session

__all__ = ["Locked", "ReadOnly", "RowLocks"]

Model = TypeVar("Model", bound=SQLModel)


class ReadOnly(RuntimeError):
    """A use case run as a read tried to lock or change something (a bug in its route)."""


@dataclass(frozen=True)
class Locked:
    """The rows a change holds, each locked (or None when the change did not ask for it)."""

    practitioner: Practitioner | None
    patient: Patient | None
    course: Course | None


@cache
def _locking(model: type[SQLModel]) -> Select[Any]:
    """SELECT … FOR UPDATE by id, built once per table (writers run it on every booking).

    `populate_existing`: a row read earlier in the transaction (to learn whom to lock) is read
    again once the lock is held. Without it the session keeps what it read before, and a
    change another writer committed while this one waited would be silently undone (R11, S6).
    """
    return (
        select(model)
        .where(model.id == bindparam("id"))  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _existing(db: DbSession, model: type[Model], row_id: uuid.UUID) -> Model:
    row = db.get(model, row_id)
    if row is None:
        raise NotFound(str(model.__tablename__), row_id)
    return row


class RowLocks:
    """The locks of one unit of work (see the module docstring): its session, and whether it writes."""

    _db: DbSession
    writes: bool

    def _waiting(self) -> None:
        """Before a statement that may wait for another writer: only a writer waits, within the deadline's rest."""
        if not self.writes:
            raise ReadOnly("a read takes no locks")
        before_waiting(self._db)

    def lock(self, model: type[Model], row_id: uuid.UUID | int) -> Model:
        """The row with this id, held (PostgreSQL `FOR UPDATE`) until the transaction ends; 404 if none.

        Only for a row outside the writers' order (a clinic, a key); the others through :meth:`lock_for_change`.
        """
        self._waiting()
        row: Model | None = self._db.execute(_locking(model), {"id": row_id}).scalar_one_or_none()
        if row is None:
            raise NotFound(str(model.__tablename__), row_id)
        return row

    def lock_for_change(
        self,
        *,
        practitioner_id: uuid.UUID | None = None,
        patient_id: uuid.UUID | None = None,
        course_id: uuid.UUID | None = None,
    ) -> Locked:
        """Lock what a change plans around, always in this order: practitioner, patient, course (R11).

        Every writer that takes more than one of these takes them here, so two writers never wait
        for each other in a circle; a writer then locks the course's sessions
        (:meth:`~api.store.unit_of_work.UnitOfWork.course_sessions`) after the course. A booking that
        loses the race for a practitioner waits here, then plans around the winner. On SQLite, where
        the writer's transaction holds the whole database, the locks cost nothing.
        """
        return Locked(
            practitioner=self.lock(Practitioner, practitioner_id) if practitioner_id else None,
            patient=self.lock(Patient, patient_id) if patient_id else None,
            course=self.lock(Course, course_id) if course_id else None,
        )

    def lock_session(self, session_id: uuid.UUID, *, with_owners: bool) -> tuple[Session, Course]:
        """A session and its course, locked in the writers' order; `with_owners`: its practitioner and patient
        first (a change that plans, or that compares the session with what GET shows, S6)."""
        found = _existing(self._db, Session, session_id)
        locked = self.lock_for_change(
            practitioner_id=found.practitioner_id if with_owners else None,
            patient_id=found.patient_id if with_owners else None,
            course_id=found.course_id,
        )
        assert locked.course is not None  # asked for
        return self.lock(Session, session_id), locked.course

    def lock_course(self, course_id: uuid.UUID) -> tuple[Practitioner, Course]:
        """A course with its practitioner and patient, locked in the writers' order."""
        found = _existing(self._db, Course, course_id)
        locked = self.lock_for_change(
            practitioner_id=found.practitioner_id, patient_id=found.patient_id, course_id=found.id
        )
        assert locked.practitioner is not None and locked.course is not None  # asked for
        return locked.practitioner, locked.course

    def lock_courses(self, course_ids: Iterable[uuid.UUID]) -> list[Course]:
        """Several courses, locked in the writers' order: every practitioner, then every patient, then every
        course, each kind by id, so a writer holding one of them never waits for this one in a circle."""
        found = [_existing(self._db, Course, course_id) for course_id in sorted(set(course_ids))]
        for practitioner_id in sorted({c.practitioner_id for c in found}):
            self.lock(Practitioner, practitioner_id)
        for patient_id in sorted({c.patient_id for c in found}):
            self.lock(Patient, patient_id)
        return [self.lock(Course, c.id) for c in found]

    def lock_rows(self, statement: Select[Any]) -> list[Row[Any]]:
        """The plain rows of a `SELECT … FOR UPDATE` of the use case's own (e.g. `SKIP LOCKED` claims)."""
        self._waiting()
        self._db.flush()  # the read sees this transaction's own changes
        return list(self._db.connection().execute(statement).all())

    def alone(self) -> None:
        """Hold the start-up lock until this transaction ends, for what a start makes once (the clinic row, the
        first admin key): a replica finds it missing, takes the lock, and asks again. PostgreSQL: the advisory
        lock the migrations take; SQLite: nothing to do, a writer holds the write lock from `BEGIN IMMEDIATE`."""
        self._waiting()
        if self._db.get_bind().dialect.name == "postgresql":
            self._db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": START_UP_LOCK})
