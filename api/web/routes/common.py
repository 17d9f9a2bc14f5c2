"""What many routes share: pagination parameters and the documented problem answers."""

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

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
