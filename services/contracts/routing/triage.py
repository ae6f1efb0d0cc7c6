"""Triage, the manual queue, and staff decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.routing.dispositions import AssignmentView
from services.contracts.vocabulary import Kind, Track, UnitType, Urgency


class TriageView(BaseModel):
    """A triage result with its confidences and explanations."""

    model_config = ConfigDict(from_attributes=True)

    appeal_id: uuid.UUID
    ticket_no: str
    state: str
    kind: str
    category: str
    urgency: str
    track: str
    secondary_track: str | None = Field(
        default=None, description="a top-up beside a policy benefit: express (莞家速递) or direct (莞家直达)"
    )
    department: str | None
    town_code: str | None
    village_code: str | None
    location_method: str
    location_confidence: float | None = None
    location_evidence: str | None = None
    policy_codes: list[str]
    confidence: float
    kind_confidence: float | None = None
    category_confidence: float | None = None
    urgency_confidence: float | None = None
    needs_manual: bool
    unsure: bool = Field(
        default=False,
        description="the model's kind or category confidence was below the thresholds on arrival: "
        "a person classified it (false when it only waited to be placed)",
    )
    manual_reasons: list[Literal["low_confidence", "no_location"]] = Field(
        default_factory=list,
        description="why the machine's own triage waited for a person on arrival: classify it, place it, or both",
    )
    explanations: list[dict[str, Any]]
    catalogue_version: str
    model_version: str | None = None
    created_at: datetime
    updated_at: datetime | None = None


class QueueItemView(BaseModel):
    """An open item of the manual triage queue, with what the machine thought and the words."""

    id: uuid.UUID
    appeal_id: uuid.UUID
    ticket_no: str
    level: str
    town_code: str | None
    reason: str
    note: str | None
    created_at: datetime
    title: str | None
    description: str
    triage: TriageView


class DecisionIn(BaseModel):
    """A person's decision: any field left out keeps the current value."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    category: str | None = Field(default=None, max_length=32)
    urgency: Urgency | None = None
    track: Track | None = None
    secondary_track: Literal["express", "direct", "none"] | None = Field(
        default=None,
        description="政策 + top-up: express (莞家速递) or direct (莞家直达) beside a policy track; none clears it",
    )
    policy_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=32)
    town_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    village_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    unit_type: UnitType | None = None
    unit_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=1000)


class DecisionOut(BaseModel):
    """The triage after the decision, and the hop it produced (if any)."""

    triage: TriageView
    assignment: AssignmentView | None


class EscalationIn(BaseModel):
    """The town passes the decision to the city."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=2, max_length=1000)


class ModelView(BaseModel):
    """A trained triage model and its scores."""

    model_config = ConfigDict(from_attributes=True)

    version: str
    created_at: datetime
    created_by: str
    examples: int
    corrections: int
    cv: dict[str, Any]
    heldout: dict[str, Any]
    active: bool
