"""A course for others: the EHR's FHIR export and the patient's printed aftercare handout (S10, S11)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.handout.render import Paper, render
from api.services import fhir_export, handout
from api.web.deps import STAFF, requires
from api.web.routes.common import PROBLEMS
from api.web.transaction import TransactionDep

router = APIRouter(prefix="/v1/courses", tags=["courses"], responses=PROBLEMS, dependencies=[Depends(requires(*STAFF))])


class FhirJSONResponse(JSONResponse):
    media_type = "application/fhir+json"  # the media type FHIR R4 gives its JSON format


_BUNDLE_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "timestamp": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fullUrl", "resource"],
                "properties": {"fullUrl": {"type": "string"}, "resource": {"type": "object"}},
            },
        },
    },
}
_BUNDLE_EXAMPLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "timestamp": "2027-03-01T10:00:00Z",
    "entry": [
        {
            "fullUrl": "urn:uuid:0b5f7a52-3f0e-4c52-9a57-2f6f3c1d9e11",
            "resource": {"resourceType": "Patient", "id": "0b5f7a52-3f0e-4c52-9a57-2f6f3c1d9e11", "…": "…"},
        },
        {"fullUrl": "urn:uuid:…", "resource": {"resourceType": "CarePlan", "intent": "plan", "…": "…"}},
    ],
}
FHIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A FHIR R4 Bundle of type `collection`",
        "content": {FhirJSONResponse.media_type: {"schema": _BUNDLE_SCHEMA, "example": _BUNDLE_EXAMPLE}},
    }
}


@router.get(
    "/{course_id}/fhir", response_class=FhirJSONResponse, responses=FHIR_RESPONSES, summary="Export to the EHR (FHIR)"
)
async def course_fhir(course_id: uuid.UUID, tx: TransactionDep) -> Response:
    """The course as a FHIR R4 `Bundle` (type `collection`) for the clinic's EHR: the `Patient`, the
    `Practitioner`, the clinic as an `Organization`, the course as a `CarePlan` (intent `plan`; after each
    session, NSAID avoidance as an activity with `doNotPerform: true` and its dates, and the other aftercare
    rules), each session as an `Appointment` (scheduled and confirmed → booked, checked_in → arrived,
    completed → fulfilled, cancelled → cancelled, no_show → noshow) and each reminder as a
    `CommunicationRequest`. References between them are `urn:uuid:` fullUrls inside the Bundle."""
    return await tx.read(
        lambda uow: fhir_export.course_bundle(uow=uow, course_id=course_id, now=tx.now),
        render=lambda bundle: bytes(FhirJSONResponse(bundle).body),
        media_type=FhirJSONResponse.media_type,
    )


HANDOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The handout: one self-contained HTML page, ready to print",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/{course_id}/handout",
    response_class=HTMLResponse,
    responses=HANDOUT_RESPONSES,
    summary="Print the aftercare handout",
)
async def course_handout(
    course_id: uuid.UUID,
    tx: TransactionDep,
    paper: Annotated[
        Paper | None, Query(description="Fix the sheet: `a4` or `letter`; leave out to print on the printer's paper")
    ] = None,
) -> Response:
    """A one-page sheet to print and hand the patient: the clinic's name and phone, their first name, every session
    still to come or done (cancelled and missed ones left out), and after each what to avoid and until when
    (NSAIDs), what to expect, the exercises, when to call the clinic at once, and any drug of their own to pause,
    with the dates. Open it in a browser and print (A4 or US Letter); it needs nothing from the internet, so a
    saved copy prints too. Set the clinic's `phone` in `PUT /v1/clinic` first."""
    return await tx.read(
        lambda uow: handout.course_handout(uow=uow, course_id=course_id),
        render=lambda made: render(made, paper=paper),
        media_type=HTMLResponse.media_type,
        headers={"Cache-Control": "no-store"},  # the page names the patient, and front-desk browsers are shared
    )
