"""What many routes share: pagination parameters and the documented problem answers."""

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

from api.web.problems import CODES
from models import Problem

_PROBLEM_SCHEMA = Problem.model_json_schema()


def _problem(status: int, description: str) -> dict[str, Any]:
    codes = ", ".join(f"`{code}`" for code, known in CODES.items() if status in known.statuses)
    return {
        "description": f"{description}; `code`: {codes}",
        "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
    }


_DESCRIPTIONS = {
    400: "The JSON body is nested too deeply to read",
    413: "The body is larger than 1 MB",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role may not do this",
    404: "No such resource",
    409: "Conflicts with what is stored, or an illegal transition",
    422: "Invalid input, with a message per field in `errors`",
    503: "The database stayed busy too long for this request; try again after `Retry-After` seconds",
}
PROBLEMS: dict[int | str, dict[str, Any]] = {status: _problem(status, text) for status, text in _DESCRIPTIONS.items()}


class PageParams(BaseModel):
    limit: int
    offset: int


async def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page)]
