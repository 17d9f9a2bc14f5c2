"""Courses: plan and book a whole course in one call, list, read, cancel."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from api.deps import STAFF, NowDep, ReadSessionDep, SessionDep, requires
from api.routes.common import PROBLEMS, PageDep, answer_from_writer
from api.services import courses, holds, summary
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


@router.post("/preview", response_model=CourseRead, summary="Preview a course (writes nothing)")
def preview_course(
    request: CourseBody,
    db: ReadSessionDep,
    now: NowDep,
) -> CourseRead:
    """Plans the course exactly as booking would and stores nothing; the ids in the answer are not stored."""
    return courses.preview_course(db=db, request=request, now=now)


@router.post("", status_code=201, response_model=CourseRead, summary="Book a whole course")
async def book_course(request: CourseBody, http: Request, now: NowDep) -> Response:
    """Plans every session (about every 14 days, inside opening and working hours, around closures,
    time off and other bookings) and books them in one transaction. 409 names the session that
    found no slot, with its window."""
    return await answer_from_writer(
        http, lambda db: courses.book_course(db=db, request=request, now=now), status_code=201
    )


@router.get("", response_model=Page[CourseRead], summary="List courses")
def list_courses(
    db: SessionDep,
    page: PageDep,
    patient_id: uuid.UUID | None = None,
    status: Annotated[CourseStatus | None, Query()] = None,
) -> Page[CourseRead]:
    """Courses, newest first, each with its sessions."""
    return courses.list_courses(db=db, patient_id=patient_id, status=status, limit=page.limit, offset=page.offset)


@router.get("/{course_id}", response_model=CourseRead, summary="One course")
def get_course(course_id: uuid.UUID, db: SessionDep) -> CourseRead:
    """A course with all its sessions."""
    return courses.get_course(db=db, course_id=course_id)


@router.post("/{course_id}/cancel", response_model=CourseRead, summary="Cancel a course")
def cancel_course(course_id: uuid.UUID, request: CourseCancel, db: SessionDep, now: NowDep) -> CourseRead:
    """Cancels the course and its future sessions in one transaction; past sessions stay as they are."""
    return courses.cancel_course(db=db, course_id=course_id, reason=request.reason, now=now)


@router.post("/{course_id}/hold", response_model=CourseRead, summary="Put a course on hold")
def hold_course(course_id: uuid.UUID, request: CourseHold, db: SessionDep, now: NowDep) -> CourseRead:
    """Pause a planned or active course: its future sessions are cancelled and their times freed."""
    return holds.hold(db=db, course_id=course_id, reason=request.reason, now=now)


@router.post("/{course_id}/resume", response_model=CourseRead, summary="Resume a course on hold")
def resume_course(course_id: uuid.UUID, request: CourseResume, db: SessionDep, now: NowDep) -> CourseRead:
    """Plan the sessions still owed again from `start_date`, never within the minimum interval of the last one."""
    return holds.resume(
        db=db, course_id=course_id, start_date=request.start_date, preferred_time=request.preferred_time, now=now
    )


@router.get("/{course_id}/summary", response_model=CourseSummary, summary="Where a course stands")
def course_summary(course_id: uuid.UUID, db: SessionDep, now: NowDep) -> CourseSummary:
    """Completed and remaining sessions, the next session, the pain trend and every adverse event."""
    return summary.course_summary(db=db, course_id=course_id, now=now)
