"""The audit trail and the sync feed (admins only): who changed what, when, from what to what (S7)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.store import audit
from api.web.deps import requires
from api.web.routes.common import PROBLEMS
from api.web.transaction import TransactionDep
from models import AuditFeed
from models.base import Instant

router = APIRouter(prefix="/v1/audit-events", tags=["audit"], responses=PROBLEMS, dependencies=[Depends(requires())])


@router.get("", response_model=AuditFeed, summary="The audit trail, and the feed to stay in sync")
async def audit_events(
    tx: TransactionDep,
    after: Annotated[
        str | None, Query(max_length=80, description="`next_cursor` of the page before; omit to start at the beginning")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Events per page (at most 500)")] = 50,
    entity_type: Annotated[str | None, Query(max_length=60, examples=["session"])] = None,
    entity_id: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=200, description="An API key's id, or an actor's name")] = None,
    from_at: Annotated[Instant | None, Query(alias="from", description="Events at or after this instant")] = None,
    to_at: Annotated[Instant | None, Query(alias="to", description="Events before this instant")] = None,
) -> Response:
    """Every change, one event per row it changed, oldest first: the actor (API key, or the command line),
    the action, the row, and the row before and after. Events are never changed or deleted.

    To keep a copy in sync, ask with `after` set to the `next_cursor` of the page before, again and again:
    no event is ever skipped, also when transactions commit in another order than they began (an event
    appears once the transactions before it have ended). An empty page still returns a `next_cursor`.
    A cursor this database did not give out (restored from a backup, or past the end) is refused with
    `code` `invalid_cursor` (410; 422 for one that is not a cursor at all): start again without `after`."""
    return await tx.read(
        lambda uow: audit.events(
            uow,
            after=after,
            limit=limit,
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            from_at=from_at,
            to_at=to_at,
        )
    )
