"""The clinical record written when a session is completed, and the other session actions' bodies."""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.base import Instant, SingleLine
from models.session import SessionRead


class AdverseEventType(StrEnum):
    increased_pain = "increased_pain"
    stiffness = "stiffness"
    infection = "infection"
    bleeding = "bleeding"
    bruising = "bruising"
    tissue_damage = "tissue_damage"
    allergic_reaction = "allergic_reaction"
    other = "other"


class Severity(StrEnum):
    mild = "mild"
    moderate = "moderate"
    severe = "severe"


Text = Annotated[str, Field(min_length=1, max_length=200)]


class Injection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: Text = Field(examples=["left sacroiliac ligament"])
    injectate: Text = Field(examples=["dextrose 15% + lidocaine 0.2%"])
    volume_ml: float = Field(gt=0, le=100, examples=[6.0], description="Millilitres injected at this site")


class AdverseEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: AdverseEventType
    severity: Severity
    notes: str | None = Field(default=None, max_length=2000)


class SessionComplete(BaseModel):
    """What the clinician injected and how the patient was (the clinical record)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "injections": [
                        {
                            "site": "left sacroiliac ligament",
                            "injectate": "dextrose 15% + lidocaine 0.2%",
                            "volume_ml": 6,
                        },
                        {"site": "iliolumbar ligament", "injectate": "dextrose 15% + lidocaine 0.2%", "volume_ml": 4},
                    ],
                    "pain_before": 6,
                    "adverse_events": [{"type": "bruising", "severity": "mild"}],
                    "notes": "Tolerated well.",
                }
            ]
        },
    )

    injections: list[Injection] = Field(min_length=1, max_length=50)
    pain_before: int = Field(ge=0, le=10, description="Pain before the session, NRS 0–10")
    adverse_events: list[AdverseEvent] = Field(default_factory=list, max_length=20)
    notes: str | None = Field(default=None, max_length=5000)


class ClinicalRecord(SessionComplete):
    completed_at: AwareDatetime


class SessionCancel(BaseModel):
    reason: SingleLine = Field(min_length=1, max_length=500, examples=["Patient has the flu"])
    replace: bool = Field(default=False, description="Append a replacement session at the end of the course (R9)")
    notify_patient: bool = Field(
        default=True,
        description="false: the patient is at the desk and knows; no change notice tells them of this change (R37)",
    )


class SessionCancelled(BaseModel):
    session: SessionRead
    replacement: SessionRead | None


class SessionReschedule(BaseModel):
    """A new time for a session (R8)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"start": "2027-03-24T09:00:00+01:00", "reflow": True, "dry_run": True}]}
    )

    start: Instant = Field(description="The new start, with its offset")
    reflow: bool = Field(default=True, description="Re-plan later sessions that would break R3/R4")
    dry_run: bool = Field(default=False, description="Answer the same, write nothing")
    reason: SingleLine | None = Field(default=None, max_length=500, examples=["Patient asked for a later date"])
    notify_patient: bool = Field(
        default=True,
        description="false: the patient is at the desk and knows; no change notice tells them of this change (R37)",
    )


class Rescheduled(BaseModel):
    session: SessionRead
    moved: list[SessionRead] = Field(description="Every other session that moved, by number")
