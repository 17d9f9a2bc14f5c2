"""What many routes share: pagination parameters, the documented problem answers, the busiest writes' answer."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from api.admission import Admission
from api.db import write_session
from models import Problem

_PROBLEM_SCHEMA = Problem.model_json_schema()


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("The body could not be read (it is not UTF-8 text)"),
    413: _problem("The body is larger than 1 MB"),
    401: _problem("No API key, or an unknown or revoked one"),
    403: _problem("The key's role may not do this"),
    404: _problem("No such resource"),
    409: _problem("Conflicts with what is stored, or an illegal transition"),
    422: _problem("Invalid input, with a message per field in `errors`"),
    503: _problem("The database stayed busy too long for this request; try again after `Retry-After` seconds"),
}


class PageParams(BaseModel):
    limit: int
    offset: int


async def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page)]


async def answer_from_writer(
    request: Request, use_case: Callable[[Session], BaseModel], *, status_code: int
) -> Response:
    """Run a use case in a writer's session and answer with its model as JSON, for the busiest writes.

    The writer's turn (api/admission.py) is taken here, after FastAPI validated the request:
    a malformed booking gets its 422 at once, even while writers queue.

    One worker-thread hop opens the session, runs the use case, commits (the use case does)
    and serialises the answer in one pass of pydantic-core: the JSON FastAPI would send for
    the route's response model, without its three extra hops (session open, close, response
    validation) and four passes over the answer (dump, validate, serialise, json.dumps).
    """

    engine: Engine = request.app.state.engine

    def run() -> bytes:
        with write_session(engine) as db:
            return use_case(db).model_dump_json().encode()

    admission: Admission = request.app.state.admission
    async with admission.write():
        body = await run_in_threadpool(run)
    return Response(body, status_code=status_code, media_type="application/json")
