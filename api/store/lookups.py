"""Load-or-404 for the use cases, the row locks writers plan under (R11), and a course's sessions."""

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlmodel import SQLModel, col

from api.store.db import DbSession, before_waiting
from api.store.errors import NotFound
from models import Course, Patient, Practitioner, Session

Row = TypeVar("Row", bound=SQLModel)


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


def get_or_404(db: DbSession, model: type[Row], row_id: uuid.UUID | int, *, lock: bool = False) -> Row:
    """The row with this id; `lock` holds it (PostgreSQL `FOR UPDATE`) until the transaction ends."""
    if lock:
        before_waiting(db)
    row = db.get(model, row_id) if not lock else db.execute(_locking(model), {"id": row_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(str(model.__tablename__), row_id)
    return row


@dataclass(frozen=True)
class Locked:
    """The rows a change holds, each locked (or None when the change did not ask for it)."""

    practitioner: Practitioner | None
    patient: Patient | None
    course: Course | None


def lock_for_change(
    db: DbSession,
    *,
    practitioner_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
) -> Locked:
    """Lock what a change plans around, always in this order: practitioner, patient, course (R11).

    Every writer that takes more than one of these takes them here, so two writers
    never wait for each other in a circle; a writer then locks the course's sessions
    (:func:`course_sessions`) after the course. A booking that loses the race for a
    practitioner waits here, then plans around the winner. On SQLite, where the
    writer's transaction holds the whole database, the locks cost nothing.
    """
    return Locked(
        practitioner=get_or_404(db, Practitioner, practitioner_id, lock=True) if practitioner_id else None,
        patient=get_or_404(db, Patient, patient_id, lock=True) if patient_id else None,
        course=get_or_404(db, Course, course_id, lock=True) if course_id else None,
    )


def lock_session(db: DbSession, session_id: uuid.UUID, *, with_owners: bool) -> tuple[Session, Course]:
    """A session and its course, locked in the writers' order; `with_owners`: its practitioner and patient
    first (a change that plans, or that compares the session with what GET shows, S6)."""
    found = get_or_404(db, Session, session_id)
    locked = lock_for_change(
        db,
        practitioner_id=found.practitioner_id if with_owners else None,
        patient_id=found.patient_id if with_owners else None,
        course_id=found.course_id,
    )
    assert locked.course is not None  # asked for
    return get_or_404(db, Session, session_id, lock=True), locked.course


def lock_course(db: DbSession, course_id: uuid.UUID) -> tuple[Practitioner, Course]:
    """A course with its practitioner and patient, locked in the writers' order; the practitioner and the course."""
    found = get_or_404(db, Course, course_id)
    locked = lock_for_change(db, practitioner_id=found.practitioner_id, patient_id=found.patient_id, course_id=found.id)
    assert locked.practitioner is not None and locked.course is not None  # asked for
    return locked.practitioner, locked.course


def lock_courses(db: DbSession, course_ids: list[uuid.UUID]) -> list[Course]:
    """Several courses, locked in the writers' order: every practitioner, then every patient, then every
    course, each kind by id, so a writer holding one of them never waits for this one in a circle."""
    found = [get_or_404(db, Course, course_id) for course_id in sorted(set(course_ids))]
    for practitioner_id in sorted({c.practitioner_id for c in found}):
        get_or_404(db, Practitioner, practitioner_id, lock=True)
    for patient_id in sorted({c.patient_id for c in found}):
        get_or_404(db, Patient, patient_id, lock=True)
    return [get_or_404(db, Course, c.id, lock=True) for c in found]


def course_sessions(db: DbSession, course_id: uuid.UUID, *, lock: bool = False) -> list[Session]:
    """Every session of a course, by number; `lock` holds them (after the course, in the writers' order)."""
    query = select(Session).where(col(Session.course_id) == course_id).order_by(col(Session.number))
    if lock:  # read again under the lock, as _locking does
        before_waiting(db)
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.execute(query).scalars())
