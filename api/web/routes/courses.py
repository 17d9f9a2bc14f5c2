"""Courses: plan and book a whole course in one call, list, read, cancel."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response

from api.services import courses, holds, summary
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS, PageDep
from api.web.transaction import TransactionDep
from models import CourseCancel, CourseCreate, CourseHold, CourseRead, Page
from models.course import CourseResume, CourseSummary
from scheduling.lifecycle import CourseStatus

router = APIRouter(prefix="/v1/courses", tags=["courses"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))])

_EXAMPLE = {
    "patient_id": "0b5f7a52-3f0e-4c52-9a57-2f6f3c1d9e11",
    "practitioner_id": "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
    "start_date": "2027-03-01",
    "preferred_time": "09:00",
    "condition": "chronic low back pain, sacroiliac joint",
}
CourseBody = Annotated[
    CourseCreate,
    Body(openapi_examples={"six sessions at 09:00": {"summary": "Default protocol at 09:00", "value": _EXAMPLE}}),
]


def _the_course(course_id: uuid.UUID) -> dict[str, Any]:
    """An action on one course answers the course: If-Match is checked against it, and the answer has an ETag."""
    return {"current": lambda uow: courses.course_for_change(uow=uow, course_id=course_id), "etag": True}


@router.post("/preview", response_model=CourseRead, summary="Preview a course (writes nothing)")
async def preview_course(request: CourseBody, tx: TransactionDep) -> Response:
    """Plans the course exactly as booking would and stores nothing; the ids in the answer are not stored."""
    return await tx.read(lambda uow: courses.preview_course(uow=uow, request=request, now=tx.now))


@router.post("", status_code=201, response_model=CourseRead, summary="Book a whole course")
async def book_course(request: CourseBody, tx: TransactionDep) -> Response:
    """Plans every session (about every 14 days, inside opening and working hours, around closures,
    time off and other bookings) and books them in one transaction. 409 names the session that
    found no slot, with its window."""
    return await tx.write(
        lambda uow: courses.book_course(uow=uow, request=request, now=tx.now),
        location=lambda course: f"/v1/courses/{course.id}",
        etag=True,
    )


@router.get("", response_model=Page[CourseRead], summary="List courses")
async def list_courses(
    tx: TransactionDep,
    page: PageDep,
    patient_id: uuid.UUID | None = None,
    status: Annotated[CourseStatus | None, Query()] = None,
) -> Response:
    """Courses, newest first, each with its sessions."""
    return await tx.read(
        lambda uow: courses.list_courses(
            uow=uow, patient_id=patient_id, status=status, limit=page.limit, offset=page.offset
        )
    )


@router.get("/{course_id}", response_model=CourseRead, summary="One course")
async def get_course(course_id: uuid.UUID, tx: TransactionDep) -> Response:
    """A course with all its sessions."""
    return await tx.read(lambda uow: courses.get_course(uow=uow, course_id=course_id), etag=True)


@router.post("/{course_id}/cancel", response_model=CourseRead, summary="Cancel a course")
async def cancel_course(course_id: uuid.UUID, request: CourseCancel, tx: TransactionDep) -> Response:
    """Cancels the course and its future sessions in one transaction; past sessions stay as they are."""
    return await tx.write(
        lambda uow: courses.cancel_course(uow=uow, course_id=course_id, reason=request.reason, now=tx.now),
        **_the_course(course_id),
    )


@router.post("/{course_id}/hold", response_model=CourseRead, summary="Put a course on hold")
async def hold_course(course_id: uuid.UUID, request: CourseHold, tx: TransactionDep) -> Response:
    """Pause a planned or active course: its future sessions are cancelled and their times freed."""
    return await tx.write(
        lambda uow: holds.hold(uow=uow, course_id=course_id, reason=request.reason, now=tx.now),
        **_the_course(course_id),
    )


@router.post("/{course_id}/resume", response_model=CourseRead, summary="Resume a course on hold")
async def resume_course(course_id: uuid.UUID, request: CourseResume, tx: TransactionDep) -> Response:
    """Plan the sessions still owed again from `start_date`, never within the minimum interval of the last one."""
    return await tx.write(
        lambda uow: holds.resume(
            uow=uow,
            course_id=course_id,
            start_date=request.start_date,
            preferred_time=request.preferred_time,
            now=tx.now,
        ),
        **_the_course(course_id),
    )


@router.get("/{course_id}/summary", response_model=CourseSummary, summary="Where a course stands")
async def course_summary(course_id: uuid.UUID, tx: TransactionDep) -> Response:
    """Completed and remaining sessions, the next session, the pain trend and every adverse event."""
    return await tx.read(lambda uow: summary.course_summary(uow=uow, course_id=course_id, now=tx.now))
